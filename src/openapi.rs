//! The OpenAPI 3.1 contract, generated from the handlers' annotations. `openapi.yaml` at the top
//! of the repository is this document, committed; a test fails when the two differ.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;

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
    modifiers(&BearerAuth, &PartialItems),
    tags(
        (name = "news", description = "News items as JSON"),
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
        use utoipa::openapi::{RefOr, Schema};
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
            /// RFC 3339; defaults to now on create and to the current value on edits. A future
            /// time schedules the item.
            #[schema(format = DateTime)]
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
