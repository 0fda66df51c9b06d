//! `/api/v1/authors`: the people items name in their bylines. Reads are public (the e-mail is
//! shown to editors only); editors create, merge-patch and delete. Answers are built per request
//! (not kept in the response cache): a list of people is small, and its counts follow every
//! item write.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use super::feeds::app_state;
use super::news::json_bytes;
use super::write::{if_match, if_match_header};
use super::{auth, editor_only, input, not_allowed, write};
use crate::auth::Editor;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::etag;
use crate::model::slugify;
use crate::schema::{SLUG_RULE, is_link_url, is_slug};
use crate::state::AppState;
use crate::store::{Author, AuthorCount, AuthorDraft};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_BIO_CHARS: usize = 2000;
/// RFC 5321's limit on a forward path.
pub const MAX_EMAIL_CHARS: usize = 254;

const WRITABLE: [&str; 6] = ["name", "slug", "bio", "url", "avatar", "email"];
/// Keys of an author as read, accepted and ignored in writes (a client may send back what it
/// read).
const READ_ONLY: [&str; 3] = ["items", "created_at", "updated_at"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/authors")
            .app_data(write::json_config())
            .service(
                web::resource("")
                    .route(web::get().to(list))
                    .route(editor_only(web::post().to(create)))
                    .default_service(not_allowed("GET, HEAD, POST")),
            )
            .service(
                web::resource("/{slug}")
                    .route(web::get().to(get))
                    .route(editor_only(web::patch().to(patch)))
                    .route(editor_only(web::delete().to(delete)))
                    .default_service(not_allowed("GET, HEAD, PATCH, DELETE")),
            ),
    );
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, create, patch, delete),
    components(schemas(AuthorView, AuthorList, AuthorInput, AuthorPatch))
)]
pub struct AuthorsDoc;

/// An author. `email` appears only in answers to editors.
#[derive(Serialize, ToSchema)]
#[schema(as = Author, example = json!({
    "slug": "ada-lovelace", "name": "Ada Lovelace", "bio": "Writes about engines.",
    "url": "https://ada.example/", "avatar": null, "items": 3,
    "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
}))]
pub struct AuthorView<'a> {
    slug: &'a str,
    name: &'a str,
    bio: Option<&'a str>,
    url: Option<&'a str>,
    /// An image URL.
    avatar: Option<&'a str>,
    /// How many public items name this author.
    #[schema(minimum = 0)]
    items: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Editors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

impl<'a> AuthorView<'a> {
    fn new(counted: &'a AuthorCount, editor: bool) -> Self {
        let a = &counted.author;
        Self {
            slug: &a.slug,
            name: &a.name,
            bio: a.bio.as_deref(),
            url: a.url.as_deref(),
            avatar: a.avatar.as_deref(),
            items: counted.items,
            created_at: super::news::rfc3339(a.created_at),
            updated_at: super::news::rfc3339(a.updated_at),
            email: a.email.as_deref().filter(|_| editor),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuthorList<'a> {
    /// By name, then slug.
    authors: Vec<AuthorView<'a>>,
}

/// The written author, twice: POST needs a `name`; a PATCH (RFC 7396 merge patch) may name
/// any subset. One macro so the two never disagree on the rest.
macro_rules! author_body {
    ($(#[$meta:meta])* $name:ident, $name_type:ty) => {
        #[derive(Serialize, ToSchema)]
        #[allow(dead_code)]
        $(#[$meta])*
        pub struct $name {
            #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
            name: $name_type,
            /// Derived from the name when omitted (kept on edits); unique.
            #[schema(max_length = 80, pattern = "^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
            slug: Option<String>,
            #[schema(max_length = 2000)]
            bio: Option<String>,
            /// An absolute http(s) URL.
            #[schema(pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\\x21-\\x7e]*)?$")]
            url: Option<String>,
            /// An image URL (absolute http(s)).
            #[schema(pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\\x21-\\x7e]*)?$")]
            avatar: Option<String>,
            /// Never shown publicly.
            #[schema(max_length = 254, pattern = "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+$")]
            email: Option<String>,
        }
    };
}

author_body!(
    /// The body of POST: `name` required, the rest optional. Any other field is a 422 (the
    /// read-only `items`, `created_at` and `updated_at` are accepted and ignored).
    AuthorInput,
    String
);

author_body!(
    /// The body of PATCH, an RFC 7396 merge patch: the fields to change; `null` removes one
    /// (the name cannot be removed).
    AuthorPatch,
    Option<String>
);

/// The writable fields of an author as a document, the target a merge patch applies to.
fn document(a: &Author) -> Value {
    serde_json::json!({
        "name": a.name, "slug": a.slug, "bio": a.bio, "url": a.url,
        "avatar": a.avatar, "email": a.email,
    })
}

/// A written author document as a draft, or every broken field. A missing slug is derived
/// from the name (on create) or kept (`current`, on edits).
fn parse(doc: &Value, current: Option<&Author>) -> ApiResult<AuthorDraft> {
    let obj = doc
        .as_object()
        .ok_or_else(|| ApiError::MalformedBody("the body must be a JSON object".to_owned()))?;
    let mut errors: Vec<FieldError> = obj
        .keys()
        .filter(|k| !WRITABLE.contains(&k.as_str()) && !READ_ONLY.contains(&k.as_str()))
        .map(|k| FieldError::new(k, "is not a field of an author"))
        .collect();
    let mut text = |field: &str, max: usize, check: &dyn Fn(&str) -> Option<&'static str>| match obj
        .get(field)
    {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            let why = if s.chars().count() > max {
                Some("is too long")
            } else if s.contains('\0') {
                Some("must not contain the NUL character (U+0000)")
            } else {
                check(s)
            };
            match why {
                Some(why) => {
                    errors.push(FieldError::new(field, why));
                    None
                }
                None => (!s.is_empty()).then(|| s.to_owned()),
            }
        }
        Some(_) => {
            errors.push(FieldError::new(field, "must be a string"));
            None
        }
    };
    let one_line = |s: &str| {
        (s.is_empty() || s.chars().any(char::is_control))
            .then_some("must be 1 to 200 characters on one line")
    };
    let web_url = |s: &str| {
        (!is_link_url(s)).then_some("must be an absolute http or https URL with a host name")
    };
    let name = text("name", MAX_NAME_CHARS, &one_line);
    let slug = text("slug", 80, &|s| (!is_slug(s)).then_some(SLUG_RULE));
    let bio = text("bio", MAX_BIO_CHARS, &|_| None);
    let url = text("url", 2048, &web_url);
    let avatar = text("avatar", 2048, &web_url);
    let email = text("email", MAX_EMAIL_CHARS, &|s| {
        let shaped = s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
        (!shaped || s.chars().any(|c| c.is_whitespace() || c.is_control()))
            .then_some("must be an e-mail address")
    });
    let name = match name {
        Some(name) => name,
        None => {
            if !errors.iter().any(|e| e.field == "name") {
                errors.push(FieldError::new("name", "is required"));
            }
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let slug = slug
        .or_else(|| current.map(|c| c.slug.clone()))
        .unwrap_or_else(|| slugify(&name));
    Ok(AuthorDraft {
        slug,
        name,
        bio,
        url,
        avatar,
        email,
    })
}

fn not_found(slug: &str) -> ApiError {
    ApiError::NotFound(format!("no author `{slug}`"))
}

/// A JSON answer; one made for an editor (it shows e-mails) is never stored by a cache.
fn json_answer(
    mut response: actix_web::HttpResponseBuilder,
    body: Vec<u8>,
    editor: bool,
) -> HttpResponse {
    response.content_type(header::ContentType::json());
    if editor {
        response.insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ));
    }
    response.body(body)
}

/// An author answer for a reader (`editor`: with the e-mail), with its ETag.
fn respond(
    mut response: actix_web::HttpResponseBuilder,
    counted: &AuthorCount,
    editor: bool,
) -> ApiResult<HttpResponse> {
    let body = json_bytes(&AuthorView::new(counted, editor))?;
    response.insert_header((header::ETAG, etag::strong(&body)));
    Ok(json_answer(response, body, editor))
}

/// Every author with its number of public items.
#[utoipa::path(
    get,
    path = "/api/v1/authors",
    operation_id = "listAuthors",
    tag = "authors",
    responses((status = 200, description = "Every author, by name", body = AuthorList)),
    security((), ("bearer" = [])),
)]
pub async fn list(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let editor = auth::optional(state, &req).await?.is_some();
    let authors = state.store.authors(state.clock.now()).await?;
    let body = json_bytes(&AuthorList {
        authors: authors.iter().map(|a| AuthorView::new(a, editor)).collect(),
    })?;
    Ok(json_answer(HttpResponse::Ok(), body, editor))
}

/// One author by slug.
#[utoipa::path(
    get,
    path = "/api/v1/authors/{slug}",
    operation_id = "getAuthor",
    tag = "authors",
    params(("slug" = String, Path, description = "The author's slug")),
    responses(
        (status = 200, description = "The author", body = AuthorView, headers(
            ("ETag" = String, description = "The author's validator, for `If-Match`"),
        )),
        (status = 401, description = "A bearer token was given but is unknown, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get(req: HttpRequest, slug: web::Path<String>) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let editor = auth::optional(state, &req).await?.is_some();
    let counted = state
        .store
        .author(&slug, state.clock.now())
        .await?
        .ok_or_else(|| not_found(&slug))?;
    respond(HttpResponse::Ok(), &counted, editor)
}

/// `POST /api/v1/authors` → 201, `Location` and the author.
#[utoipa::path(
    post,
    path = "/api/v1/authors",
    operation_id = "createAuthor",
    tag = "authors",
    request_body(content = AuthorInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = AuthorView, headers(
            ("Location" = String, description = "The author's API URL"),
            ("ETag" = String, description = "The author's validator"),
        )),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (named in `errors`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let draft = parse(&body, None)?;
    let author = state
        .store
        .create_author(&draft, state.clock.now())
        .await
        .map_err(conflict)?;
    tracing::info!(editor = %editor.name, author = %author.slug, "author created");
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        state.urls.url(&format!("api/v1/authors/{}", author.slug)),
    ));
    respond(response, &AuthorCount { author, items: 0 }, true)
}

/// A slug clash says so in the author's words, not an item's.
fn conflict(e: crate::store::StoreError) -> ApiError {
    match e {
        crate::store::StoreError::Conflict { field } => {
            ApiError::Conflict(FieldError::new(field, "is already taken by another author"))
        }
        crate::store::StoreError::NotFound => ApiError::NotFound("no such author".to_owned()),
        other => other.into(),
    }
}

/// The author `slug` as now stored, checked against the request's `If-Match` (the ETag of
/// either the public or the editor's answer).
async fn current(state: &AppState, req: &HttpRequest, slug: &str) -> ApiResult<Author> {
    let counted = state
        .store
        .author(slug, state.clock.now())
        .await?
        .ok_or_else(|| not_found(slug))?;
    if let Some(condition) = if_match_header(req)? {
        let tags = [false, true]
            .map(|editor| json_bytes(&AuthorView::new(&counted, editor)).map(|b| etag::strong(&b)));
        let [public, editor] = tags;
        if !if_match(&condition, &public?) && !if_match(&condition, &editor?) {
            return Err(ApiError::PreconditionFailed);
        }
    }
    Ok(counted.author)
}

/// `PATCH /api/v1/authors/{slug}`: an RFC 7396 merge patch. A new name, slug, URL or avatar
/// reaches every item naming the author (and their feeds) at once.
#[utoipa::path(
    patch,
    path = "/api/v1/authors/{slug}",
    operation_id = "patchAuthor",
    tag = "authors",
    params(("slug" = String, Path, description = "The author's slug")),
    request_body(content = AuthorPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated author", body = AuthorView),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` does not match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (named in `errors`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    slug: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let Some(members) = body.as_object() else {
        return Err(ApiError::MalformedBody(
            "a merge patch for an author must be a JSON object".to_owned(),
        ));
    };
    let unknown: Vec<FieldError> = members
        .keys()
        .filter(|k| !WRITABLE.contains(&k.as_str()) && !READ_ONLY.contains(&k.as_str()))
        .map(|k| FieldError::new(k, "is not a field of an author"))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let current = current(&state, &req, &slug).await?;
    let mut doc = document(&current);
    input::merge_patch(&mut doc, &Value::Object(only_writable(members)));
    let draft = parse(&doc, Some(&current))?;
    let now = state.clock.now();
    let writing = state.events.writing();
    let (author, changes) = state
        .store
        .update_author(&slug, &draft, &current, now)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Stale => ApiError::PreconditionFailed,
            other => conflict(other),
        })?;
    for change in &changes {
        state.changed(change);
    }
    drop(writing);
    tracing::info!(editor = %editor.name, author = %author.slug, items = changes.len(), "author patched");
    let counted = state
        .store
        .author(&author.slug, now)
        .await?
        .ok_or_else(|| not_found(&author.slug))?;
    respond(HttpResponse::Ok(), &counted, true)
}

fn only_writable(members: &Map<String, Value>) -> Map<String, Value> {
    members
        .iter()
        .filter(|(k, _)| WRITABLE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `DELETE /api/v1/authors/{slug}` → 204; 409 while any item names the author.
#[utoipa::path(
    delete,
    path = "/api/v1/authors/{slug}",
    operation_id = "deleteAuthor",
    tag = "authors",
    params(("slug" = String, Path, description = "The author's slug")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Items still name the author", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` does not match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let current = current(&state, &req, &slug).await?;
    state
        .store
        .delete_author(&slug, &current)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Stale => ApiError::PreconditionFailed,
            other => conflict(other),
        })?;
    tracing::info!(editor = %editor.name, author = %slug, "author deleted");
    Ok(HttpResponse::NoContent().finish())
}
