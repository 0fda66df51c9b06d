//! `/api/v1/tokens`: API tokens managed over HTTP by a token with the `admin` scope (the same
//! tokens `herald token` manages). A secret is shown once, in the answer that creates it;
//! listings show its first characters only.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::news::rfc3339;
use super::{editor_only, not_allowed, write};
use crate::auth::{self, Editor, IssueError, MAX_LIFETIME_SECS, Scope, Scopes, TokenSpec};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::{StoreError, TokenInfo};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/tokens")
            .app_data(write::json_config())
            .service(
                web::resource("")
                    .route(editor_only(web::get().to(list)))
                    .route(editor_only(web::post().to(create)))
                    .default_service(not_allowed("GET, HEAD, POST")),
            )
            .service(
                web::resource("/{name}")
                    .route(editor_only(web::delete().to(revoke)))
                    .default_service(not_allowed("DELETE")),
            ),
    );
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, revoke),
    components(schemas(TokenInput, TokenView, NewTokenView, TokenList))
)]
pub struct TokensDoc;

/// A token to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "contributor-anna", "scopes": ["write"], "expires_in": 2592000}))]
pub struct TokenInput {
    /// 1 to 100 characters; unique, and taken for good (also after revoking).
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Any of `read:drafts`, `write`, `publish`, `media`, `webhooks`, `admin`.
    #[schema(min_items = 1)]
    scopes: Vec<String>,
    /// Seconds until the token stops working; omitted: it never expires.
    #[schema(minimum = 1, maximum = 316224000)]
    expires_in: Option<i64>,
}

/// A token as listed: never its secret or hash.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    name: String,
    /// The first characters of the secret (`null` for tokens made before prefixes were kept).
    prefix: Option<String>,
    scopes: Vec<String>,
    created_at: String,
    expires_at: Option<String>,
    /// When it was last used, to the minute.
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        Self {
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes.split(',').map(str::to_owned).collect(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// Oldest first, revoked ones included.
    tokens: Vec<TokenView>,
}

/// A created token: the only answer that ever holds its secret.
#[derive(Serialize, ToSchema)]
pub struct NewTokenView {
    /// The secret, for `Authorization: Bearer …`; shown only this once.
    token: String,
    #[serde(flatten)]
    info: TokenView,
}

/// Every token (admin scope).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    operation_id = "listTokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn list(state: web::Data<AppState>, editor: Editor) -> ApiResult<HttpResponse> {
    editor.require(Scope::Admin)?;
    let tokens = state.store.tokens().await?;
    Ok(private(HttpResponse::Ok()).json(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}

/// Creates a token with the scopes named (admin scope); the answer holds its secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "createToken",
    tag = "tokens",
    request_body(content = TokenInput, content_type = "application/json"),
    responses((status = 201, description = "Created; `token` is shown only here", body = NewTokenView)),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    body: web::Json<TokenInput>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Admin)?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let scopes = match Scopes::parse_list(&body.scopes.join(",")) {
        Ok(scopes) => Some(scopes),
        Err(message) => {
            errors.push(FieldError::new("scopes", message));
            None
        }
    };
    let expires_at = match body.expires_in {
        None => None,
        Some(secs) if (1..=MAX_LIFETIME_SECS).contains(&secs) => {
            Some(now + chrono::Duration::seconds(secs))
        }
        Some(_) => {
            errors.push(FieldError::new(
                "expires_in",
                format!("must be 1 to {MAX_LIFETIME_SECS} seconds"),
            ));
            None
        }
    };
    let (Some(scopes), true) = (scopes, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let spec = TokenSpec {
        name: body.name.clone(),
        scopes,
        expires_at,
    };
    let token = match auth::issue_with(&state.store, &spec, now).await {
        Ok(token) => token,
        Err(e @ IssueError::BadName) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "name",
                e.to_string(),
            )]));
        }
        Err(IssueError::Taken(_)) => {
            return Err(ApiError::Conflict(FieldError::new(
                "name",
                "is already taken by another token",
            )));
        }
        Err(IssueError::Other(e)) => return Err(e.into()),
    };
    let info = state
        .store
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.name == spec.name.trim())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a created token is not listed")))?;
    tracing::info!(editor = %editor.name, token = %info.name, scopes = %info.scopes, "token created");
    Ok(private(HttpResponse::Created()).json(NewTokenView {
        token,
        info: info.into(),
    }))
}

/// Revokes a token by name (admin scope); requests with it get 401 from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    operation_id = "revokeToken",
    tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No active token of that name", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke(
    state: web::Data<AppState>,
    editor: Editor,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Admin)?;
    match state.store.revoke_token(&name, state.clock.now()).await {
        Ok(()) => {
            tracing::info!(editor = %editor.name, token = %name, "token revoked");
            Ok(HttpResponse::NoContent().finish())
        }
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!(
            "no active token named `{name}`"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Token listings are for the admin asking, never for a shared cache.
fn private(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response.insert_header((header::CACHE_CONTROL, "private, no-store"));
    response
}
