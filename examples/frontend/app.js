// Herald example frontend: plain browser JavaScript, no build step.
//
// Settings. Each can also be given in the page's query string, e.g.
//   index.html?api=http://127.0.0.1:9000&limit=2
const CONFIG = {
  // Where Herald runs. Herald must list this page's origin in HERALD_CORS_ORIGINS
  // (or allow reads from any origin, its default).
  apiBase: "http://127.0.0.1:8080",
  // Items per page (Herald accepts 1 to 100).
  pageSize: 20,
};

const params = new URLSearchParams(location.search);
if (params.get("api")) CONFIG.apiBase = params.get("api");
if (params.get("limit")) CONFIG.pageSize = Number(params.get("limit"));
const API = CONFIG.apiBase.replace(/\/+$/, "") + "/api/v1";

const $ = (id) => document.getElementById(id);
const list = { query: "", cursor: null };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// Fetches JSON; a problem+json error becomes an Error carrying its `detail`.
async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
  }
  return body;
}

function formatDate(iso) {
  return new Date(iso).toLocaleDateString(undefined, {
    year: "numeric", month: "long", day: "numeric", timeZone: "UTC",
  });
}

function itemSummary(item) {
  const li = document.createElement("li");
  li.dataset.id = item.id;
  const h2 = document.createElement("h2");
  const a = document.createElement("a");
  a.href = `#/news/${encodeURIComponent(item.id)}`;
  a.textContent = item.title;
  h2.append(a);
  const time = document.createElement("time");
  time.dateTime = item.published_at;
  time.textContent = formatDate(item.published_at);
  li.append(h2, time);
  const text = item.summary || plainExcerpt(item.content_html);
  if (text) {
    const p = document.createElement("p");
    p.textContent = text;
    li.append(p);
  }
  return li;
}

// The body's text without markup, cut at a word near 200 characters.
function plainExcerpt(html) {
  const text = new DOMParser().parseFromString(html || "", "text/html").body.textContent.trim();
  if (text.length <= 200) return text;
  return text.slice(0, 200).replace(/\s+\S*$/, "") + "…";
}

// Loads a page of the list: the first one (replacing the list) or the one after `list.cursor`.
async function loadPage({ append }) {
  const url = new URL(`${API}/news`);
  url.searchParams.set("limit", CONFIG.pageSize);
  // Herald ignores parameters it does not know, so `q` is harmless before search exists.
  if (list.query) url.searchParams.set("q", list.query);
  if (append && list.cursor) url.searchParams.set("cursor", list.cursor);
  setStatus("Loading…");
  try {
    const page = await getJson(url);
    if (!append) $("news").replaceChildren();
    $("news").append(...page.items.map(itemSummary));
    list.cursor = page.next_cursor;
    $("older").hidden = !page.next_cursor;
    const shown = $("news").children.length;
    setStatus(shown === 0
      ? (list.query ? `No news matches “${list.query}”.` : "No news yet.")
      : (list.query ? `${shown} shown for “${list.query}”.` : ""));
  } catch (error) {
    setStatus(`Could not load the news: ${error.message}`, true);
  }
}

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

async function showItem(id) {
  $("list-view").hidden = true;
  $("item-view").hidden = false;
  $("item-title").textContent = "";
  $("item-body").replaceChildren();
  $("item-links").replaceChildren();
  setStatus("Loading…");
  try {
    const item = await getJson(`${API}/news/${encodeURIComponent(id)}`);
    document.title = `${item.title} · Herald news`;
    $("item-title").textContent = item.title;
    $("item-date").dateTime = item.published_at;
    $("item-date").textContent = formatDate(item.published_at);
    // Herald sanitises content_html on the server (ammonia), so it is inserted as HTML.
    $("item-body").innerHTML = item.content_html;
    for (const link of item.links) {
      const li = document.createElement("li");
      const href = safeHref(link.url);
      if (href) {
        const a = document.createElement("a");
        a.href = href;
        a.rel = "noopener";
        a.textContent = link.title || link.url;
        li.append(a);
      } else {
        li.textContent = link.title || link.url;
      }
      $("item-links").append(li);
    }
    if (item.links.length === 0) $("item-links").append(Object.assign(
      document.createElement("li"), { textContent: "No links." }));
    setStatus("");
  } catch (error) {
    setStatus(`Could not load the item: ${error.message}`, true);
  }
}

function showList() {
  document.title = "Herald news";
  $("item-view").hidden = true;
  $("list-view").hidden = false;
  list.cursor = null;
  loadPage({ append: false });
}

function route() {
  const match = location.hash.match(/^#\/news\/(.+)$/);
  if (match) showItem(decodeURIComponent(match[1]));
  else showList();
}

$("older").addEventListener("click", () => loadPage({ append: true }));
$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  list.query = $("q").value.trim();
  if (location.hash.startsWith("#/news/")) location.hash = "#/";
  else showList();
});
window.addEventListener("hashchange", route);
route();
