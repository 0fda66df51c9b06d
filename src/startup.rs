//! Builds the application: store ready (migrated, seeded), routes and middleware wired, listener
//! bound. Tests start exactly this on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::config::{Settings, default_public_url, normalise_base};
use crate::previews::Previews;
use crate::rate_limit::RateLimits;
use crate::state::AppState;
use crate::store::{self, DynStore};
use crate::webhooks::{WebhookSettings, deliver};
use crate::websub::Publisher;
use crate::{
    access_log, api, events, http_cache, import, limits, markdown, openapi, response_policy,
};

/// The meta key remembering which public URL stored HTML was rendered against.
const RENDER_BASE_KEY: &str = "render_base";

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// `/metrics` on an address of its own (`HERALD_METRICS_BIND`), stopped with the main one.
    metrics: Option<(u16, ServerHandle)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)?;
        let addr = listener.local_addr()?;
        let public_url = normalise_base(
            settings
                .public_url
                .clone()
                .unwrap_or_else(|| default_public_url(addr)),
        );
        let store = connect_patiently(&settings).await?;
        prepare_store(&store, &settings, &public_url, clock.as_ref()).await?;
        let websub = settings
            .websub_hub
            .clone()
            .map(Publisher::new)
            .transpose()
            .context("building the WebSub client")?;
        let previews = Previews::load(
            &store,
            chrono::Duration::seconds(settings.integrations.preview_lifetime as i64),
        )
        .await?;
        let state = web::Data::new(
            AppState::new(store, public_url, clock)
                .with_previews(previews)
                .with_rate_limits(RateLimits::new(&settings.integrations))
                .with_webhooks(WebhookSettings::from(&settings.integrations))
                .with_cors_origins(settings.cors_origins.clone())
                .with_websub(websub)
                .with_publishing(settings.feed.clone(), settings.cache_max_age)
                .with_cache_budget(settings.cache_budget, settings.workers)
                .with_metrics_apart(settings.ops.metrics_bind.is_some())
                .with_time_budget(settings.time_budget)
                .with_media(settings.media.clone()),
        );
        // Changes committed from here on (by this process or any other) reach the caches and
        // the hub; the seed import above is already part of what is served.
        state.events.start_after(state.store.revision().await?);
        // Before serving: the store's first call only marks where going live is counted from,
        // and items that went live while no server ran are announced now.
        state
            .events
            .publish_due(&state.store, state.clock.now())
            .await?;
        events::watch(
            &state.events,
            state.store.clone(),
            state.clock.clone(),
            settings.watch_every,
        );
        if state.webhooks.delivery {
            // Woken by every change this process sees, since each may have queued deliveries;
            // deliveries queued before this start (or by a process not delivering) go out too.
            let wakeup = Arc::new(tokio::sync::Notify::new());
            state
                .events
                .subscribe(Arc::new(deliver::Wakeup(wakeup.clone())));
            deliver::spawn(
                Arc::downgrade(&state.events),
                wakeup,
                state.store.clone(),
                state.urls.clone(),
                state.clock.clone(),
                state.metrics.clone(),
                state.webhooks.clone(),
            )
            .context("building the webhook client")?;
        }
        let app_state = state.clone();
        let ops = settings.ops.clone();
        let mut server = HttpServer::new(move || {
            build_app(app_state.clone())
                .wrap(limits::HeaderBudget(ops.max_header_bytes))
                .wrap(access_log::AccessLog::new(app_state.metrics.clone()))
        });
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        // Slow clients (slowloris): a request head must arrive within the header read time, an
        // idle connection closes after the keep-alive; a stop waits this long for requests.
        let server = server
            .client_request_timeout(settings.ops.header_read_timeout)
            .keep_alive(settings.ops.keep_alive)
            .shutdown_timeout(settings.ops.shutdown_timeout.as_secs())
            .listen(listener)?
            .run();
        let metrics = match settings.ops.metrics_bind {
            Some(bind) => Some(metrics_server(bind, state.clone())?),
            None => None,
        };
        Ok(Self {
            port: addr.port(),
            server,
            state,
            metrics,
        })
    }

    /// The port `/metrics` has to itself, when `HERALD_METRICS_BIND` gave it one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &Url {
        self.state.urls.base()
    }

    /// Stops the server from outside (tests restart on the same database with it).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM (or [`Application::handle`]'s stop): stops accepting, lets
    /// requests in flight finish within `HERALD_SHUTDOWN_TIMEOUT`, then closes the store (on
    /// SQLite, checkpointing the write-ahead log into the database file). Everything the
    /// service owes beyond that is already in the store: a write is committed before it is
    /// answered, and the change log it records is read again by the next start.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some((_, metrics)) = self.metrics {
            metrics.stop(true).await;
        }
        tracing::info!("stopped serving; closing the store");
        self.state.events.stop();
        if let Err(e) = self.state.store.close().await {
            tracing::warn!(error = %e, "closing the store");
        }
        served
    }
}

/// `/metrics` alone, on its own address, one worker, no signals of its own (the main server's
/// stop ends it).
fn metrics_server(
    bind: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> anyhow::Result<(u16, ServerHandle)> {
    let listener =
        TcpListener::bind(bind).with_context(|| format!("binding the metrics address {bind}"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(api::metrics::own_address)
            .default_service(web::to(api::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((port, handle))
}

/// The first wait before connecting again to a database that cannot be reached; it doubles up
/// to [`MAX_CONNECT_WAIT`].
const FIRST_CONNECT_WAIT: Duration = Duration::from_millis(500);
const MAX_CONNECT_WAIT: Duration = Duration::from_secs(30);

/// Opens the store, waiting for a database that cannot be reached yet (still starting, being
/// restarted, a network blip) instead of exiting: a replica may well start before its
/// database. Any other error (a bad URL, refused credentials) ends the start at once.
async fn connect_patiently(settings: &Settings) -> anyhow::Result<DynStore> {
    let mut wait = FIRST_CONNECT_WAIT;
    loop {
        match store::connect_with(settings.database_url.expose(), settings.pool).await {
            Ok(store) => return Ok(store),
            Err(e) if store::is_unavailable(&e) => {
                tracing::warn!(
                    database = %settings.database_url,
                    error = format!("{e:#}"),
                    retry_in = ?wait,
                    "database not reachable; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_CONNECT_WAIT);
            }
            Err(e) => {
                return Err(e.context(format!("connecting to {}", settings.database_url)));
            }
        }
    }
}

/// Migrates, re-renders stored HTML if the public URL changed, and imports the seed into an
/// empty store.
pub async fn prepare_store(
    store: &DynStore,
    settings: &Settings,
    public_url: &Url,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    store.migrate().await?;
    ensure_render_base(store, public_url).await?;
    if let Some(seed) = &settings.seed_dir
        && !store.has_items().await?
    {
        if seed.exists() {
            let report = import::import_path(store, seed, public_url, clock.now()).await?;
            tracing::info!(created = report.created, seed = %seed.display(), "seeded an empty store");
        } else {
            tracing::warn!(seed = %seed.display(), "store is empty and the seed folder does not exist");
        }
    }
    Ok(())
}

/// Stored HTML has relative links resolved against the public URL; when that URL changes,
/// every body is rendered again so no page points at the old host.
pub async fn ensure_render_base(store: &DynStore, public_url: &Url) -> anyhow::Result<()> {
    let base = public_url.as_str();
    if store.meta(RENDER_BASE_KEY).await?.as_deref() != Some(base) {
        let count = store
            .rerender_all(&|md: &str| markdown::to_html(md, public_url))
            .await?;
        if count > 0 {
            tracing::info!(count, base, "public URL changed: re-rendered stored HTML");
        }
        store.set_meta(RENDER_BASE_KEY, base).await?;
    }
    Ok(())
}

/// The public URL stored HTML was last rendered against, if any.
pub async fn render_base(store: &DynStore) -> anyhow::Result<Option<Url>> {
    Ok(store
        .meta(RENDER_BASE_KEY)
        .await?
        .and_then(|s| Url::parse(&s).ok()))
}

/// The whole HTTP surface for one worker. Shared by the server and in-process tests.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = state.cors_origins.middleware();
    let json_caching = state.json_caching.clone();
    let time_budget = state.time_budget;
    // Off by default: then no request pays for the check (a boxed future and the client's
    // address as a string, on every feed hit).
    let limit_reads = state.limits.is_limited(crate::rate_limit::Kind::Reads);
    App::new()
        .app_data(state)
        .app_data(json_caching)
        // Feeds answer from memory with validators and compressed bodies made once per change:
        // nothing stands between them and the connection but CORS and the access log.
        .configure(api::feeds::routes)
        // Media files carry their own validators and year-long caching; they never change.
        .configure(api::media::file_routes)
        .configure(api::metrics::routes)
        .service(
            web::scope("")
                .configure(api::configure)
                // After the API: the docs UI's catch-all pattern is a regex every request
                // before it would run.
                .configure(openapi::configure)
                // Validators, 304s, HEAD and compression for every other GET.
                .wrap(http_cache::HttpCaching),
        )
        // Nested scopes fall back to the app's default, not the enclosing scope's.
        .default_service(web::to(api::not_found))
        // Inside CORS and the response policy, so a 503 past the budget carries their headers.
        .wrap(time_budget)
        // Anonymous reads per client, when `HERALD_RATE_LIMIT_READS` asks for a limit.
        .wrap(actix_web::middleware::Condition::new(
            limit_reads,
            actix_web::middleware::from_fn(api::limits::limit_reads),
        ))
        // Outside everything else, so CORS headers land on every answer, errors and 404s
        // included. The server adds the header budget and the access log (request id,
        // metrics) around it.
        .wrap(cors)
        // nosniff, charsets and `private, no-store` on every answer, whichever layer made it.
        .wrap(response_policy::ResponsePolicy)
}
