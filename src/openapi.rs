//! The OpenAPI 3.1 contract, generated from the handlers' annotations. `openapi.yaml` at the top
//! of the repository is this document, committed; a test fails when the two differ.

use actix_web::{HttpResponse, web};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Header, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

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
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    // `Resources` first: the others state rules for every path, so they need them all.
    modifiers(&Resources, &BearerAuth, &HttpCaching, &WriteErrors, &TimeBudgets),
    tags(
        (name = "news", description = "News items as JSON"),
        (name = "authors", description = "The people items name in their bylines"),
        (name = "media", description = "Image uploads, and their files under /media/"),
        (name = "feeds", description = "The same items for feed readers: RSS 2.0, Atom 1.0, JSON Feed 1.1"),
        (name = "operations", description = "Health, readiness, metrics and the contract itself"),
        (name = "tokens", description = "API tokens and their scopes (admin scope)"),
        (name = "webhooks", description = "Signed deliveries of item events to subscribers' URLs (webhooks scope)"),
    )
)]
pub struct ApiDoc;

/// Every resource module's own document (its paths and schemas, declared next to its routes),
/// merged. A new resource adds one line here.
struct Resources;

impl Modify for Resources {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for resource in [
            api::news::NewsDoc::openapi(),
            api::tags::TagsDoc::openapi(),
            api::authors::AuthorsDoc::openapi(),
            api::media::MediaDoc::openapi(),
            api::health::HealthDoc::openapi(),
            api::feeds::FeedsDoc::openapi(),
            api::pages::PagesDoc::openapi(),
            api::metrics::MetricsDoc::openapi(),
            api::archives::ArchivesDoc::openapi(),
            api::site::SitePagesDoc::openapi(),
            api::sitemaps::SitemapsDoc::openapi(),
            api::tokens::TokensDoc::openapi(),
            api::webhooks::WebhooksDoc::openapi(),
            api::previews::PreviewsDoc::openapi(),
        ] {
            openapi.merge(resource);
        }
    }
}

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

/// The contract as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> String {
    let yaml = ApiDoc::openapi()
        .to_yaml()
        .expect("the OpenAPI document serialises");
    quote_yaml11_scalars(&yaml)
}

/// Plain scalars that a YAML 1.1 reader (PyYAML, js-yaml's default schema, much Swagger
/// tooling) would read as something other than a string: its timestamps and its wider
/// booleans. The emitter follows YAML 1.2, which reads them as strings, so it leaves them bare.
pub const YAML11_NON_STRINGS: &str = r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$";

/// `yaml` with every plain scalar value in [`YAML11_NON_STRINGS`] single-quoted, so YAML 1.1
/// and YAML 1.2 readers see the same document as `/openapi.json`. The emitter writes one
/// scalar per line (`key: value` or `- value`), which is all this needs to look at.
fn quote_yaml11_scalars(yaml: &str) -> String {
    static LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(?P<head>\s*(?:- )*(?:[^\s'\x22#-][^:]*: |- ))(?P<value>[^'\x22\[{|>&*!].*)$",
        )
        .expect("a valid pattern")
    });
    static NON_STRING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(YAML11_NON_STRINGS).expect("a valid pattern")
    });
    let mut out = String::with_capacity(yaml.len() + 64);
    for line in yaml.split_inclusive('\n') {
        let (text, end) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        match LINE.captures(text) {
            Some(found) if NON_STRING.is_match(&found["value"]) => {
                out.push_str(&found["head"]);
                out.push('\'');
                out.push_str(&found["value"]);
                out.push('\'');
                out.push_str(end);
            }
            _ => out.push_str(line),
        }
    }
    out
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
        // Only `/docs/` matches below: the address people type gets there too. Relative, so it
        // holds below a public URL with a path.
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((actix_web::http::header::LOCATION, "docs/"))
                    .finish()
            }),
        )
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", ApiDoc::openapi()),
        );
}

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
            // Probes and metrics answer `no-store`: never a validator, never a 304.
            // Media files state their own validators (immutable, never a Last-Modified).
            if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics")
                || path.starts_with("/media/")
            {
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
                        .description(
                            "Not Modified: the cached copy is current; no body, and no \
                             `Last-Modified` (the ETag and date are both unchanged)",
                        )
                        .header("ETag", header("The current validator"))
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
                // Uploads state their own body errors: those below are a JSON body's.
                let with_body = op.request_body.as_ref().is_some_and(|body| match body {
                    RefOr::T(body) => body.content.keys().any(|k| k.contains("json")),
                    RefOr::Ref(_) => true,
                });
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
                add(
                    "403",
                    problem("The token lacks a scope this needs; `detail` names it"),
                );
                let mut limited =
                    problem("Too many writes or failed authentications (rate limits)");
                limited.headers.insert(
                    "Retry-After".to_owned(),
                    RefOr::T(header("Seconds to wait")),
                );
                add("429", limited);
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

/// Every operation has a time budget (`time_budget`): past it, a 503. Stated once here.
struct TimeBudgets;

impl Modify for TimeBudgets {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut late = problem(
            "The request took longer than its time budget (`HERALD_READ_TIMEOUT`, \
             `HERALD_WRITE_TIMEOUT`) or the database is unavailable; try again later",
        );
        late.headers.insert(
            "Retry-After".to_owned(),
            RefOr::T(header("Seconds to wait before trying again")),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                op.responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| RefOr::T(late.clone()));
            }
        }
    }
}
