//! `/api/v1/webhooks`: subscriptions to item events, managed by tokens with the `webhooks` scope
//! (issue 17). A signing secret is shown once, when it is made (creation, rotation); listings
//! never show it. Deliveries are queued by the store with each change and sent by
//! `webhooks::deliver`; here editors see them and queue one again.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::news::rfc3339;
use super::{editor_only, input, not_allowed, write};
use crate::auth::{Editor, Scope};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::webhooks::{Delivery, EVENT_TYPES, Webhook, WebhookDraft};
use crate::webhooks::{signature, target};

pub const MAX_DESCRIPTION_CHARS: usize = 500;
const WRITABLE: [&str; 4] = ["url", "events", "description", "enabled"];
const DEFAULT_DELIVERIES: u32 = 20;
const MAX_DELIVERIES: u32 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/webhooks")
            .app_data(write::json_config())
            .service(
                web::resource("")
                    .route(editor_only(web::get().to(list)))
                    .route(editor_only(web::post().to(create)))
                    .default_service(not_allowed("GET, HEAD, POST")),
            )
            .service(
                web::resource("/{id}")
                    .route(editor_only(web::get().to(get)))
                    .route(editor_only(web::patch().to(patch)))
                    .route(editor_only(web::delete().to(delete)))
                    .default_service(not_allowed("GET, HEAD, PATCH, DELETE")),
            )
            .service(
                web::resource("/{id}/rotate-secret")
                    .route(editor_only(web::post().to(rotate_secret)))
                    .default_service(not_allowed("POST")),
            )
            .service(
                web::resource("/{id}/deliveries")
                    .route(editor_only(web::get().to(deliveries)))
                    .default_service(not_allowed("GET, HEAD")),
            )
            .service(
                web::resource("/{id}/deliveries/{delivery_id}/redeliver")
                    .route(editor_only(web::post().to(redeliver)))
                    .default_service(not_allowed("POST")),
            ),
    );
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, patch, delete, rotate_secret, deliveries, redeliver),
    components(schemas(
        WebhookInput,
        WebhookPatch,
        WebhookView,
        NewSecretView,
        WebhookList,
        DeliveryView,
        DeliveryList
    ))
)]
pub struct WebhooksDoc;

/// A subscription to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://build.example.com/hooks/herald", "events": ["item.published", "item.updated"], "description": "Rebuild the static site"}))]
#[allow(dead_code)]
pub struct WebhookInput {
    /// Where deliveries are POSTed: an `http` or `https` URL of a public address (loopback,
    /// private and link-local addresses are refused, unless the server allows them).
    #[schema(max_length = 2048, pattern = "^https?://")]
    url: String,
    /// Any of `item.published`, `item.updated`, `item.unpublished`, `item.deleted`,
    /// `item.scheduled`.
    #[schema(min_items = 1)]
    events: Vec<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// Default `true`.
    enabled: Option<bool>,
}

/// The body of PATCH, an RFC 7396 merge patch: the fields to change; `null` removes the
/// description. `enabled: true` turns a disabled webhook back on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WebhookPatch {
    #[schema(max_length = 2048, pattern = "^https?://")]
    url: Option<String>,
    #[schema(min_items = 1)]
    events: Option<Vec<String>>,
    #[schema(max_length = 500)]
    description: Option<String>,
    enabled: Option<bool>,
}

/// A subscription as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    id: i64,
    url: String,
    events: Vec<String>,
    description: Option<String>,
    /// `false` when an editor turned it off, or the deliverer did after a delivery failed
    /// every attempt (then `disabled_reason` says why).
    enabled: bool,
    disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs beside the current one.
    previous_secret_expires_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at: w.previous_secret_until.map(rfc3339),
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
        }
    }
}

/// A subscription with its signing secret: only in the answers that make one.
#[derive(Serialize, ToSchema)]
pub struct NewSecretView {
    /// `whsec_` and base64: verify `webhook-signature` with it. Shown only this once.
    secret: String,
    #[serde(flatten)]
    webhook: WebhookView,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    webhooks: Vec<WebhookView>,
}

/// One message to a subscription and how its sending went.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    id: i64,
    /// The `webhook-id` header: the same on every retry and redelivery.
    message_id: String,
    event: String,
    item_id: i64,
    /// `pending` (queued or retrying), `delivered` or `failed`.
    status: String,
    attempts: i64,
    /// Of the last attempt, if it got an answer.
    response_code: Option<i64>,
    /// Of the last attempt, in milliseconds.
    duration_ms: Option<i64>,
    /// What went wrong in the last attempt.
    last_error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    next_attempt_at: Option<String>,
    created_at: String,
    finished_at: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            message_id: d.message_id,
            event: d.event_type,
            item_id: d.item_id,
            status: d.state.as_str().to_owned(),
            attempts: d.attempts,
            response_code: d.response_code,
            duration_ms: d.duration_ms,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            created_at: rfc3339(d.created_at),
            finished_at: d.finished_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    deliveries: Vec<DeliveryView>,
}

/// The query of the deliveries list, for the contract (the handler reads it itself, to name a bad
/// `limit` in its own words).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeliveryQuery {
    /// How many of the newest deliveries (1 to 100, default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Every webhook (webhooks scope).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn list(state: web::Data<AppState>, editor: Editor) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let webhooks = state.store.webhooks().await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: webhooks.into_iter().map(WebhookView::from).collect(),
    }))
}

/// Subscribes a URL to item events (webhooks scope); the answer holds the signing secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    request_body(content = WebhookInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = NewSecretView,
         headers(("Location" = String, description = "The webhook's URL"))),
        (status = 422, description = "Invalid fields (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let Some(members) = body.as_object() else {
        return Err(ApiError::MalformedBody(
            "a webhook must be a JSON object".to_owned(),
        ));
    };
    refuse_unknown(members)?;
    let draft = parse(&state, members).await?;
    let secret = signature::new_secret().map_err(ApiError::Internal)?;
    let webhook = state
        .store
        .create_webhook(&draft, &secret, state.clock.now())
        .await?;
    tracing::info!(editor = %editor.name, webhook = webhook.id, url = %webhook.url, "webhook created");
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        state.urls.url(&format!("api/v1/webhooks/{}", webhook.id)),
    ));
    Ok(response.json(NewSecretView {
        secret,
        webhook: webhook.into(),
    }))
}

/// One webhook (webhooks scope).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let webhook = current(&state, &id).await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(webhook)))
}

/// `PATCH /api/v1/webhooks/{id}`: an RFC 7396 merge patch (webhooks scope).
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    operation_id = "patchWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated webhook", body = WebhookView),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn patch(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let Some(members) = body.as_object() else {
        return Err(ApiError::MalformedBody(
            "a merge patch for a webhook must be a JSON object".to_owned(),
        ));
    };
    refuse_unknown(members)?;
    let current = current(&state, &id).await?;
    let mut doc = serde_json::json!({
        "url": current.url,
        "events": current.events,
        "description": current.description,
        "enabled": current.enabled,
    });
    let writable: Map<String, Value> = members
        .iter()
        .filter(|(k, _)| WRITABLE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    input::merge_patch(&mut doc, &Value::Object(writable));
    let Value::Object(merged) = doc else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "a merged webhook is not an object"
        )));
    };
    let draft = parse(&state, &merged).await?;
    let webhook = state
        .store
        .update_webhook(current.id, &draft, state.clock.now())
        .await
        .map_err(not_found_as(&id))?;
    tracing::info!(editor = %editor.name, webhook = webhook.id, "webhook patched");
    Ok(HttpResponse::Ok().json(WebhookView::from(webhook)))
}

/// Deletes a webhook with its deliveries (webhooks scope).
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let key = parse_id(&id)?;
    state
        .store
        .delete_webhook(key)
        .await
        .map_err(not_found_as(&id))?;
    tracing::info!(editor = %editor.name, webhook = key, "webhook deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Gives a webhook a new signing secret, shown once in the answer; the old one keeps signing
/// beside it for `HERALD_WEBHOOK_SECRET_GRACE` (default 24 hours), so receivers can switch
/// without missing a delivery (webhooks scope).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The new secret, shown only here", body = NewSecretView),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let key = parse_id(&id)?;
    let secret = signature::new_secret().map_err(ApiError::Internal)?;
    let now = state.clock.now();
    let grace = chrono::Duration::from_std(state.webhooks.secret_grace)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let webhook = state
        .store
        .rotate_webhook_secret(key, &secret, now + grace, now)
        .await
        .map_err(not_found_as(&id))?;
    tracing::info!(editor = %editor.name, webhook = key, "webhook secret rotated");
    Ok(HttpResponse::Ok().json(NewSecretView {
        secret,
        webhook: webhook.into(),
    }))
}

/// A webhook's newest deliveries, newest first (webhooks scope).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id"), DeliveryQuery),
    responses(
        (status = 200, description = "The deliveries", body = DeliveryList),
        (status = 400, description = "A bad `limit`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
    query: web::Query<Map<String, Value>>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let limit = match query.get("limit") {
        None => DEFAULT_DELIVERIES,
        Some(value) => value
            .as_str()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|n| (1..=MAX_DELIVERIES).contains(n))
            .ok_or_else(|| {
                ApiError::InvalidParameter(FieldError::new(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_DELIVERIES}"),
                ))
            })?,
    };
    let webhook = current(&state, &id).await?;
    let deliveries = state.store.deliveries(webhook.id, limit).await?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// Queues a delivery again, with the same `webhook-id`, after anything already queued for the
/// webhook (webhooks scope; counted as a write by the rate limits).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    operation_id = "redeliverWebhookDelivery",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The webhook's id"),
        ("delivery_id" = String, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 202, description = "Queued; the new delivery", body = DeliveryView),
        (status = 404, description = "No such webhook or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The webhook is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `webhooks` scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn redeliver(
    state: web::Data<AppState>,
    editor: Editor,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Webhooks)?;
    let (id, delivery_id) = path.into_inner();
    let webhook = current(&state, &id).await?;
    let delivery_key = delivery_id
        .parse::<i64>()
        .map_err(|_| no_delivery(&delivery_id))?;
    if !webhook.enabled {
        return Err(ApiError::Conflict(FieldError::new(
            "enabled",
            "the webhook is disabled; enable it first (PATCH with `\"enabled\": true`)",
        )));
    }
    let delivery = state
        .store
        .redeliver(webhook.id, delivery_key, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => no_delivery(&delivery_id),
            other => other.into(),
        })?;
    tracing::info!(editor = %editor.name, webhook = webhook.id, delivery = delivery_key, "webhook delivery queued again");
    Ok(HttpResponse::Accepted().json(DeliveryView::from(delivery)))
}

fn no_delivery(id: &str) -> ApiError {
    ApiError::NotFound(format!("this webhook has no delivery `{id}`"))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("no webhook `{id}`")))
}

async fn current(state: &AppState, id: &str) -> ApiResult<Webhook> {
    let key = parse_id(id)?;
    state
        .store
        .webhook(key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook `{id}`")))
}

fn not_found_as(id: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no webhook `{id}`")),
        other => other.into(),
    }
}

fn refuse_unknown(members: &Map<String, Value>) -> ApiResult<()> {
    let unknown: Vec<FieldError> = members
        .keys()
        .filter(|k| !WRITABLE.contains(&k.as_str()))
        .map(|k| FieldError::new(k, "is not a field of a webhook"))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(unknown))
    }
}

/// A subscription from its written fields, every problem named by its field.
async fn parse(state: &AppState, members: &Map<String, Value>) -> ApiResult<WebhookDraft> {
    let mut errors = Vec::new();
    let url = match members.get("url") {
        Some(Value::String(url)) => {
            match target::check(url.trim(), state.webhooks.allow_private).await {
                Ok(parsed) => Some(parsed.to_string()),
                Err(e) => {
                    errors.push(FieldError::new("url", e.to_string()));
                    None
                }
            }
        }
        Some(Value::Null) | None => {
            errors.push(FieldError::new("url", "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("url", "must be a string"));
            None
        }
    };
    let mut events = Vec::new();
    match members.get("events") {
        Some(Value::Array(list)) if list.is_empty() => {
            errors.push(FieldError::new("events", "name at least one event"));
        }
        Some(Value::Array(list)) => {
            for (i, event) in list.iter().enumerate() {
                match event.as_str() {
                    Some(name) if EVENT_TYPES.contains(&name) => {
                        if !events.iter().any(|e: &String| e == name) {
                            events.push(name.to_owned());
                        }
                    }
                    _ => errors.push(FieldError::new(
                        format!("events[{i}]"),
                        format!("must be one of {}", EVENT_TYPES.join(", ")),
                    )),
                }
            }
        }
        Some(Value::Null) | None => errors.push(FieldError::new("events", "is required")),
        Some(_) => errors.push(FieldError::new("events", "must be an array of event names")),
    }
    let description = match members.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            errors.push(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
            None
        }
        Some(Value::String(d)) if d.trim().is_empty() => None,
        Some(Value::String(d)) => Some(d.trim().to_owned()),
        Some(_) => {
            errors.push(FieldError::new("description", "must be a string or null"));
            None
        }
    };
    let enabled = match members.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("enabled", "must be true or false"));
            true
        }
    };
    match url {
        Some(url) if errors.is_empty() => Ok(WebhookDraft {
            url,
            events,
            description,
            enabled,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}
