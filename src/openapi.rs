//! The OpenAPI 3.1 contract, generated from the handlers' annotations. `openapi.yaml` at the top
//! of the repository is this document, committed; a test fails when the two differ.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Header, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type,
};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::api;
use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "A headless news service: one store of news items served as REST JSON to \
                       frontends and as RSS 2.0, Atom 1.0 and JSON Feed 1.1 to feed readers.\n\n\
                       Every error is an RFC 9457 `application/problem+json` body. Reads are \
                       public; writes need `Authorization: Bearer <token>` (`herald token create`).",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8080", description = "`cargo run --release` on this machine")),
    paths(
        api::news::list,
        api::news::get,
        api::write::create,
        api::write::replace,
        api::write::patch,
        api::write::delete,
        api::health::healthz,
        api::tags::list,
        rss_feed,
        rss_alias,
        atom_feed,
        atom_alias_feed_xml,
        atom_alias_atom_xml,
        json_feed,
        tag_feed,
        item_page,
    ),
    components(schemas(
        api::news::ItemView,
        NewsPage,
        api::tags::TagsBody,
        api::tags::TagView,
        crate::model::Link,
        crate::error::Problem,
        crate::error::FieldError,
        ItemInput,
        ItemPatch,
        LinkInput,
        Tag,
        api::health::Health,
    )),
    modifiers(&BearerAuth, &PartialItems, &HttpCaching, &WriteErrors),
    tags(
        (name = "news", description = "News items as JSON"),
        (name = "feeds", description = "The same items for feed readers: RSS 2.0, Atom 1.0, JSON Feed 1.1"),
        (name = "operations", description = "Health and the contract itself"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "An API token from `herald token create --name NAME`, sent as \
             `Authorization: Bearer hrld_…`."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// A page of items, newest first unless `sort` says otherwise.
#[derive(Serialize, ToSchema)]
pub struct NewsPage {
    /// Whole items, or only the keys `fields` asked for.
    #[schema(value_type = Vec<PartialItem>)]
    items: Vec<()>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
    /// The number of matches, with `count=true` only.
    #[schema(minimum = 0)]
    total: Option<i64>,
}

/// Stands for `PartialItem` in `NewsPage`; [`PartialItems`] defines it.
#[derive(ToSchema)]
struct PartialItem;

/// `PartialItem` is `Item` with no key required (a list with `fields` returns some keys only).
/// Derived here from `Item`, so the two never drift.
struct PartialItems;

impl Modify for PartialItems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::Schema;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(item))) = components.schemas.get("Item") {
            let mut partial = item.clone();
            partial.required.clear();
            partial.description = Some(
                "An item as `fields` shaped it: the keys of `Item`, each present only if asked for \
                 (all of them when `fields` is omitted)."
                    .to_owned(),
            );
            partial.example = None;
            components
                .schemas
                .insert("PartialItem".to_owned(), RefOr::T(Schema::Object(partial)));
        }
    }
}

/// The written item, twice: POST and PUT need a `title`; a PATCH (RFC 7396 merge patch) may
/// name any subset of the fields. One macro so the two can never disagree on the rest.
macro_rules! item_body {
    ($(#[$meta:meta])* $name:ident, $title:ty) => {
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        $(#[$meta])*
        pub struct $name {
            /// 1 to 300 characters on one line (trimmed; no control characters). The same
            /// one-line pattern applies to link titles and tags.
            #[schema(
                nullable = false,
                min_length = 1,
                max_length = 300,
                pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
            )]
            pub title: $title,
            /// Lower-case ASCII letters, digits and hyphens, with at least one letter; unique.
            /// Derived from the title when omitted (and kept on edits).
            #[schema(
                pattern = "^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                max_length = 80
            )]
            pub slug: Option<String>,
            #[schema(max_length = 2000)]
            pub summary: Option<String>,
            /// Markdown, at most 1 MiB.
            pub content_markdown: Option<String>,
            /// RFC 3339, written in the years 1500 to 2500; defaults to now on create and to the
            /// current value on edits. A future time schedules the item.
            #[schema(format = DateTime, pattern = "^(1[5-9][0-9]{2}|2[0-4][0-9]{2}|2500)-")]
            pub published_at: Option<String>,
            /// `published` (default) or `draft`.
            #[schema(pattern = "^(published|draft)$")]
            pub status: Option<String>,
            /// Omitted: the links of the Markdown body, in order.
            #[schema(max_items = 100)]
            pub links: Option<Vec<LinkInput>>,
            /// Trimmed, lower-cased and de-duplicated; each 1 to 100 characters on one line.
            #[schema(inline = false, max_items = 100)]
            pub tags: Option<Vec<Tag>>,
            #[schema(read_only)]
            pub id: Option<i64>,
            #[schema(read_only)]
            pub content_html: Option<String>,
            #[schema(read_only)]
            pub created_at: Option<String>,
            #[schema(read_only)]
            pub updated_at: Option<String>,
            #[schema(read_only)]
            pub url: Option<String>,
        }
    };
}

item_body!(
    /// The body of POST and PUT. Any other field is a 422. The read-only fields of an item are
    /// accepted and ignored, so a client may send back what it read.
    #[schema(example = json!({
        "title": "Working Group Two discussed in Reuters article",
        "content_markdown": "Working Group Two was discussed by Reuters in an article by Telenor and telco disruption.\n\n[Reuters article](https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA)",
        "published_at": "2018-03-01T00:00:00Z",
        "tags": ["press"]
    }))]
    ItemInput,
    String
);

item_body!(
    /// The body of PATCH, an RFC 7396 merge patch: the fields to change; `null` removes a field
    /// so its default applies (a `title` cannot be removed).
    #[schema(example = json!({"summary": "Reuters on Working Group Two", "tags": ["press"]}))]
    ItemPatch,
    Option<String>
);

/// A tag as written: trimmed and lower-cased when stored.
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$", example = "press")]
pub struct Tag(String);

/// A link as written: a title and an absolute http(s) URL with a host name.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Reuters article"
    )]
    pub title: String,
    #[schema(
        pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\\x21-\\x7e]*)?$",
        example = "https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA"
    )]
    pub url: String,
}

/// The contract as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> String {
    ApiDoc::openapi()
        .to_yaml()
        .expect("the OpenAPI document serialises")
}

pub async fn serve_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(yaml())
}

/// `/openapi.yaml`, `/openapi.json` and the interactive docs at `/docs` (Swagger UI, its assets
/// compiled into the binary: no CDN at run time).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Swagger UI serves the JSON form at the URL it is given.
    cfg.route("/openapi.yaml", web::get().to(serve_yaml))
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", ApiDoc::openapi()),
        );
}

/// The list filters of `GET /api/v1/news`, which every feed accepts too: a saved search is a
/// subscription. A feed is always the newest items, so paging parameters are ignored.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct FeedFilters {
    /// Only items with every given tag (repeatable).
    tag: Option<Vec<String>>,
    /// Full-text search, as in `GET /api/v1/news`.
    #[param(max_length = 500)]
    q: Option<String>,
    /// Published at or after: RFC 3339, or a date.
    since: Option<String>,
    /// Published at or before: RFC 3339, or a date (to the end of that day, UTC).
    until: Option<String>,
    /// `-published_at` (default), `published_at`, or `relevance` (with `q`).
    #[param(pattern = "^(-published_at|published_at|relevance)$")]
    sort: Option<String>,
}

/// One documented feed URL. The handlers are built in a loop (`api::feeds::routes`), so each
/// URL gets a stand-in function here to carry its annotation.
macro_rules! feed_doc {
    ($name:ident, $path:literal, $id:literal, $content_type:literal, $body:ty, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            get,
            path = $path,
            operation_id = $id,
            tag = "feeds",
            params(FeedFilters),
            responses(
                (status = 200, description = "The newest items (`HERALD_FEED_SIZE`, default 20)", body = $body, content_type = $content_type),
                (status = 400, description = "A filter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
            ),
        )]
        #[allow(dead_code)]
        fn $name() {}
    };
}

feed_doc!(
    rss_feed,
    "/feed.rss",
    "rssFeed",
    "application/rss+xml; charset=utf-8",
    String,
    "RSS 2.0."
);
feed_doc!(
    rss_alias,
    "/rss.xml",
    "rssFeedAlias",
    "application/rss+xml; charset=utf-8",
    String,
    "RSS 2.0 at the path many sites already hand out."
);
feed_doc!(
    atom_feed,
    "/feed.atom",
    "atomFeed",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 (RFC 4287)."
);
feed_doc!(
    atom_alias_feed_xml,
    "/feed.xml",
    "atomFeedJekyll",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 at jekyll-feed's path."
);
feed_doc!(
    atom_alias_atom_xml,
    "/atom.xml",
    "atomFeedAlias",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 at another common path."
);
feed_doc!(
    json_feed,
    "/feed.json",
    "jsonFeed",
    "application/feed+json",
    Object,
    "JSON Feed 1.1."
);

/// The feed of one tag, in any format.
#[utoipa::path(
    get,
    path = "/tags/{tag}/feed.{format}",
    operation_id = "tagFeed",
    tag = "feeds",
    params(
        ("tag" = String, Path, description = "The tag"),
        ("format" = String, Path, pattern = "^(rss|atom|json)$", description = "`rss`, `atom` or `json`"),
        FeedFilters,
    ),
    responses(
        (status = 200, description = "The newest items with the tag", content(
            (String = "application/rss+xml; charset=utf-8"),
            (String = "application/atom+xml; charset=utf-8"),
            (Object = "application/feed+json"),
        )),
        (status = 400, description = "A filter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such feed format", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[allow(dead_code)]
fn tag_feed() {}

/// The item's permalink: a minimal HTML page (the `url` of an item, the `link` in feeds).
#[utoipa::path(
    get,
    path = "/news/{key}",
    operation_id = "itemPage",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    responses(
        (status = 200, description = "The item as HTML", body = String, content_type = "text/html; charset=utf-8"),
        (status = 404, description = "No such public item", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[allow(dead_code)]
fn item_page() {}

/// RFC 9110 conditional requests, stated once for every public GET: validators on 200s, and
/// `If-None-Match` / `If-Modified-Since` answered with 304.
struct HttpCaching;

fn string() -> utoipa::openapi::Object {
    ObjectBuilder::new().schema_type(Type::String).build()
}

fn header(description: &str) -> Header {
    let mut h = Header::new(string());
    h.description = Some(description.to_owned());
    h
}

impl Modify for HttpCaching {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let validators = [
            ("ETag", "Strong validator of this representation"),
            ("Last-Modified", "When the content last changed (HTTP-date)"),
            (
                "Cache-Control",
                "`public, max-age=60` by default (`HERALD_CACHE_MAX_AGE`)",
            ),
        ];
        let conditionals: [Parameter; 2] = [
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .description(Some(
                    "304 when one of these ETags is current (takes precedence)",
                ))
                .schema(Some(string()))
                .build(),
            ParameterBuilder::new()
                .name("If-Modified-Since")
                .parameter_in(ParameterIn::Header)
                .description(Some("304 when nothing changed since this HTTP-date"))
                .schema(Some(string()))
                .build(),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/healthz" {
                continue;
            }
            let Some(get) = item.get.as_mut() else {
                continue;
            };
            if let Some(RefOr::T(ok)) = get.responses.responses.get_mut("200") {
                for (name, description) in validators {
                    ok.headers
                        .entry(name.to_owned())
                        .or_insert_with(|| RefOr::T(header(description)));
                }
            }
            get.responses.responses.insert(
                "304".to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description("Not Modified: the cached copy is current; no body")
                        .header("ETag", header("The current validator"))
                        .header("Last-Modified", header("When the content last changed"))
                        .header("Cache-Control", header("As on a 200"))
                        .build(),
                ),
            );
            get.parameters
                .get_or_insert_with(Vec::new)
                .extend(conditionals.iter().cloned().map(RefOr::T));
        }
    }
}

/// What every write can answer besides success, stated once: a missing or bad token (401); for
/// writes with a body, the ways a body can be wrong (400, 409, 413, 415, 422); for writes to one
/// item, `If-Match` and the 404 and 412 it can bring.
struct WriteErrors;

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

impl Modify for WriteErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let if_match = ParameterBuilder::new()
            .name("If-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Write only if the item still has one of these ETags (or `*`)",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(
                        r#"^(\*|(W/)?"[\x21\x23-\x7e]*"(\s*,\s*(W/)?"[\x21\x23-\x7e]*")*)$"#,
                    ))
                    .build(),
            ))
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let one_item = path.contains("{key}");
            let writes = [
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in writes.into_iter().flatten() {
                let with_body = op.request_body.is_some();
                let mut add = |status: &str, response: Response| {
                    op.responses
                        .responses
                        .insert(status.to_owned(), RefOr::T(response));
                };
                let mut unauthorized = problem("Missing, unknown or revoked token");
                unauthorized.headers.insert(
                    "WWW-Authenticate".to_owned(),
                    RefOr::T(header("`Bearer realm=\"herald\"`")),
                );
                add("401", unauthorized);
                if with_body {
                    add("400", problem("The body is not JSON, or not an object"));
                    add("409", problem("The slug belongs to another item"));
                    add("413", problem("The body is larger than 4 MiB"));
                    add("415", problem("The body is not JSON"));
                    add(
                        "422",
                        problem("Fields are invalid; each is named in `errors`"),
                    );
                }
                if one_item {
                    if !with_body {
                        add("400", problem("`If-Match` is malformed"));
                    }
                    add("404", problem("No such item"));
                    add("412", problem("`If-Match` does not match the current item"));
                    op.parameters
                        .get_or_insert_with(Vec::new)
                        .push(RefOr::T(if_match.clone()));
                }
            }
        }
    }
}
