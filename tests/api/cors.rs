//! CORS through HTTP: which origins may read, which may write, and that errors carry the headers.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::helpers::{TestApp, assert_problem, spawn_adjusted, spawn_app};

const APP: &str = "http://app.example";
const OTHER: &str = "http://elsewhere.example";

async fn spawn_with_origins(origins: &str) -> TestApp {
    let origins = origins.parse().unwrap();
    spawn_adjusted(|s| s.cors_origins = origins).await
}

async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method);
    if let Some(headers) = headers {
        request = request.header("Access-Control-Request-Headers", headers);
    }
    request.send().await.unwrap()
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("Origin", origin)
        .send()
        .await
        .unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The comma-separated tokens of a header, lower-cased.
fn tokens(headers: &HeaderMap, name: &str) -> Vec<String> {
    header(headers, name)
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn assert_exposes_paging_and_caching(headers: &HeaderMap) {
    let exposed = tokens(headers, "access-control-expose-headers");
    for name in ["etag", "last-modified", "link", "location"] {
        assert!(exposed.iter().any(|e| e == name), "{name} in {exposed:?}");
    }
}

/// A refused preflight: no grant a browser could act on, and a problem naming the header.
async fn assert_refused(response: reqwest::Response, field: &str) {
    assert!(
        header(response.headers(), "access-control-allow-origin").is_none(),
        "refused preflight must not allow the origin"
    );
    assert!(header(response.headers(), "access-control-allow-credentials").is_none());
    let body = assert_problem(response, 400).await;
    assert_eq!(body["errors"][0]["field"], field, "{body}");
}

#[tokio::test]
async fn by_default_any_origin_may_preflight_and_make_reads() {
    let app = spawn_app().await;
    let response = preflight(&app, "/api/v1/news", OTHER, "GET", Some("if-none-match")).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some("*"));
    assert!(tokens(headers, "access-control-allow-methods").contains(&"get".to_owned()));
    assert!(tokens(headers, "access-control-allow-headers").contains(&"if-none-match".to_owned()));
    assert!(header(headers, "access-control-allow-credentials").is_none());

    let response = get_from(&app, "/api/v1/news?limit=1", OTHER).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_exposes_paging_and_caching(response.headers());
    assert!(tokens(response.headers(), "vary").contains(&"origin".to_owned()));
}

#[tokio::test]
async fn by_default_no_origin_may_write() {
    let app = spawn_app().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let response = preflight(&app, "/api/v1/news", OTHER, method, Some("authorization")).await;
        assert_refused(response, "Access-Control-Request-Method").await;
    }
}

#[tokio::test]
async fn listed_origins_may_write_with_credentials_and_others_may_not() {
    let app = spawn_with_origins(&format!("{APP}, http://second.example")).await;

    let response = preflight(
        &app,
        "/api/v1/news",
        APP,
        "POST",
        Some("authorization,content-type"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(headers, "access-control-allow-credentials"),
        Some("true")
    );
    let methods = tokens(headers, "access-control-allow-methods");
    for method in ["post", "put", "patch", "delete"] {
        assert!(
            methods.contains(&method.to_owned()),
            "{method} in {methods:?}"
        );
    }
    let allowed = tokens(headers, "access-control-allow-headers");
    assert!(allowed.contains(&"authorization".to_owned()), "{allowed:?}");

    let response = preflight(
        &app,
        "/api/v1/news/1",
        "http://second.example",
        "PATCH",
        Some("authorization"),
    )
    .await;
    assert_eq!(response.status(), 200);

    let response = preflight(&app, "/api/v1/news", OTHER, "POST", Some("authorization")).await;
    assert_refused(response, "Origin").await;

    // A listed origin reads with credentials; an unlisted one gets no grant at all.
    let response = get_from(&app, "/api/v1/news", APP).await;
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    assert_exposes_paging_and_caching(response.headers());
    let response = get_from(&app, "/api/v1/news", OTHER).await;
    assert_eq!(
        response.status(),
        200,
        "the server still answers non-browser clients"
    );
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_wildcard_never_grants_credentials_or_writes() {
    for origins in ["*", &format!("*,{APP}")] {
        let app = spawn_with_origins(origins).await;
        for method in ["POST", "DELETE"] {
            let response =
                preflight(&app, "/api/v1/news", OTHER, method, Some("authorization")).await;
            assert_refused(response, "Access-Control-Request-Method").await;
        }
        // Not even a read may carry a token from an origin that is only covered by `*`.
        let response = preflight(&app, "/api/v1/news", OTHER, "GET", Some("authorization")).await;
        assert_refused(response, "Access-Control-Request-Headers").await;

        let response = get_from(&app, "/api/v1/news", OTHER).await;
        assert_eq!(
            header(response.headers(), "access-control-allow-origin"),
            Some("*")
        );
        assert!(header(response.headers(), "access-control-allow-credentials").is_none());
    }

    // With the wildcard beside a listed origin, that origin keeps its writes.
    let app = spawn_with_origins(&format!("*,{APP}")).await;
    let response = preflight(&app, "/api/v1/news", APP, "POST", Some("authorization")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn problem_responses_carry_the_cors_headers() {
    let app = spawn_with_origins(&format!("*,{APP}")).await;

    let response = get_from(&app, "/no/such/route", OTHER).await;
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_exposes_paging_and_caching(response.headers());
    assert_problem(response, 404).await;

    let response = get_from(&app, "/api/v1/news/999999", APP).await;
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    assert_problem(response, 404).await;

    let response = get_from(&app, "/api/v1/news?limit=0", OTHER).await;
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_problem(response, 400).await;
}

/// A request without `Origin` (curl, feed readers, server-side frontends) gets no CORS grant,
/// but every answer, errors included, still says it varies by `Origin`, so a shared cache never
/// hands such a copy to a browser; and the exposed headers are the same as for browsers.
#[tokio::test]
async fn answers_without_origin_still_vary_by_origin() {
    let app = spawn_with_origins("*,https://admin.example").await;
    let cors_vary = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
    ];
    for (method, path, status, coded) in [
        (Method::GET, "/feed.atom", 200, true),
        (Method::GET, "/api/v1/news", 200, true),
        (Method::HEAD, "/api/v1/news/1", 200, true),
        (Method::GET, "/api/v1/news/999", 404, false),
        (Method::GET, "/no/such/path", 404, false),
        (Method::DELETE, "/api/v1/news/1", 401, false),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let headers = response.headers();
        assert_eq!(header(headers, "access-control-allow-origin"), None);
        assert_eq!(header(headers, "access-control-allow-credentials"), None);
        assert_exposes_paging_and_caching(headers);
        let mut expected: Vec<&str> = cors_vary.to_vec();
        if coded {
            expected.insert(0, "accept-encoding");
        }
        assert_eq!(tokens(headers, "vary"), expected, "{method} {path}");
    }
}
