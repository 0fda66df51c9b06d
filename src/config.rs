//! Command line and environment: every setting is a flag with an environment variable behind it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::cors::CorsOrigins;
use crate::store::{DEFAULT_DB_TIMEOUT_SECS, DEFAULT_POOL_SIZE, PoolSettings};

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: a headless news service (REST JSON, RSS 2.0, Atom 1.0, JSON Feed 1.1)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve`, which also runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Log lines as text or as one JSON object per line (every command).
    #[arg(long, env = "HERALD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

// Parsed once at start-up: the size of the largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and feeds (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Import a Jekyll news page, every `*.md` page in a folder, a JSON Lines file (`.jsonl`,
    /// one item per line, for bulk imports), a `herald export` (into an empty store), a
    /// WordPress export (WXR), a Ghost export (JSON), or an RSS 2.0 or Atom 1.0 feed file.
    /// Re-importing updates in place.
    Import {
        #[command(flatten)]
        db: DatabaseArgs,
        /// File or folder to import.
        path: PathBuf,
        /// Base URL for relative links in imported bodies.
        #[arg(long, env = "HERALD_PUBLIC_URL")]
        public_url: Option<Url>,
        /// Report what would be created, updated and skipped, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the whole store as JSON Lines (items with ids, GUIDs and every date, tokens as
    /// hashes, meta, the change log) to PATH, or to stdout for `-` or no PATH; `herald import`
    /// restores it into an empty store exactly.
    Export {
        #[command(flatten)]
        db: DatabaseArgs,
        /// File to write (replaced if it exists), or `-` for stdout.
        path: Option<PathBuf>,
    },
    /// Copy everything in one store into another (SQLite or PostgreSQL, either way): items with
    /// their ids, GUIDs and dates, tokens, meta and the change log; row counts are compared at
    /// the end. Stop every writer to the source first.
    CopyStore {
        /// The store to copy (left unchanged).
        #[arg(long)]
        from: DatabaseUrl,
        /// The store to copy into; migrated first, and it must be empty unless `--force`.
        #[arg(long)]
        to: DatabaseUrl,
        /// Delete everything in a non-empty target first, then copy.
        #[arg(long)]
        force: bool,
    },
    /// Manage the API tokens editors write with.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the OpenAPI 3.1 document (YAML); `herald openapi > openapi.yaml` regenerates the
    /// committed contract.
    Openapi,
    /// Write a consistent, checked copy of a SQLite store to a new file while it is served and
    /// written to (PostgreSQL: prints how to use pg_dump instead).
    Backup {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The file to write; it must not exist yet.
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its SHA-256 hash is stored.
    Create {
        #[command(flatten)]
        db: DatabaseArgs,
        /// A name to list and revoke the token by (e.g. who or what uses it).
        #[arg(long)]
        name: String,
        /// What the token may do, comma-separated: read:drafts, write, publish, media,
        /// webhooks, admin [default: admin, every right].
        #[arg(long)]
        scope: Option<String>,
        /// How long the token works: e.g. 3600s, 90m, 12h, 30d, 2w [default: for ever].
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List tokens: names, prefixes, scopes and times (never the tokens or their hashes).
    List(DatabaseArgs),
    /// Revoke a token by name; requests with it get 401 from then on.
    Revoke {
        #[command(flatten)]
        db: DatabaseArgs,
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database to use; a SQLite file is created if missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: DatabaseUrl,
    /// Database connections kept open at most (per process).
    #[arg(long, env = "HERALD_DB_POOL_SIZE", default_value_t = DEFAULT_POOL_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,
    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(long, env = "HERALD_DB_TIMEOUT", default_value_t = DEFAULT_DB_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_timeout: u64,
}

impl DatabaseArgs {
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_pool_size,
            timeout: Duration::from_secs(self.db_timeout),
        }
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://herald.db";

/// A database URL. It may carry a password (`postgres://user:secret@host/db`, or
/// `?password=secret`), so `Debug` and `Display` show it redacted; [`DatabaseUrl::expose`] gives
/// the real one, for connecting only.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password: pass it to the driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`: in the user information
    /// (`scheme://user:password@host`) and in a `password` query parameter. When in doubt it
    /// hides more, never less.
    pub fn redacted(&self) -> String {
        let url = redact_user_password(&self.0);
        match url.split_once('?') {
            None => url,
            Some((head, query)) => {
                let pairs: Vec<String> = query.split('&').map(redact_password_pair).collect();
                format!("{head}?{}", pairs.join("&"))
            }
        }
    }
}

/// `scheme://user:***@host…`. The authority is taken to run to the first `/`, so a password
/// holding an unescaped `?`, `#` or `@` is still hidden whole.
fn redact_user_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `password=***` for a `password` query parameter (any case); other pairs as they are.
fn redact_password_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
        _ => pair.to_owned(),
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(url))
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address and port to listen on.
    #[arg(long, env = "HERALD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Absolute base URL for every link Herald emits [default: http://<bind>/].
    #[arg(long, env = "HERALD_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// Folder of Jekyll pages imported when the store is empty.
    #[arg(long, env = "HERALD_SEED_DIR", default_value = "seed")]
    pub seed_dir: PathBuf,
    /// Browser origins allowed cross-origin, comma-separated (`https://a.example,*`). Listed
    /// origins may read and write with credentials; `*` lets any origin read.
    #[arg(long, env = "HERALD_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: CorsOrigins,
    /// WebSub hub told about every feed change (`hub.mode=publish`); feeds advertise it.
    #[arg(long, env = "HERALD_WEBSUB_HUB")]
    pub websub_hub: Option<Url>,
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Seconds clients and proxies may reuse a feed or JSON response (`Cache-Control: max-age`).
    #[arg(long, env = "HERALD_CACHE_MAX_AGE", default_value_t = DEFAULT_CACHE_MAX_AGE)]
    pub cache_max_age: u32,
    /// Bytes of memory for rendered responses (feeds, JSON, item pages) kept between changes,
    /// counting every compressed form; the least recently used go first.
    #[arg(long, env = "HERALD_CACHE_BUDGET", default_value_t = DEFAULT_CACHE_BUDGET)]
    pub cache_budget: usize,
    /// HTTP worker threads [default: one per CPU core].
    #[arg(long, env = "HERALD_WORKERS", value_parser = at_least_one)]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Seconds a read (GET, HEAD, OPTIONS) may take before it is answered 503.
    #[arg(long, env = "HERALD_READ_TIMEOUT", value_parser = crate::time_budget::parse_secs,
          default_value = crate::time_budget::DEFAULT_READ_SECS)]
    pub read_timeout: Duration,
    /// Seconds a write (POST, PUT, PATCH, DELETE) may take before it is answered 503.
    #[arg(long, env = "HERALD_WRITE_TIMEOUT", value_parser = crate::time_budget::parse_secs,
          default_value = crate::time_budget::DEFAULT_WRITE_SECS)]
    pub write_timeout: Duration,
    #[command(flatten)]
    pub integrations: IntegrationArgs,
    #[command(flatten)]
    pub media: MediaArgs,
}

/// Image uploads (`POST /api/v1/media`) and the files of `/media/…`.
#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    /// The largest upload accepted, in bytes; larger is a 413.
    #[arg(long, env = "HERALD_MEDIA_MAX_BYTES", default_value_t = crate::media::DEFAULT_MAX_BYTES,
          value_parser = at_least_one)]
    pub media_max_bytes: usize,
    /// The most pixels (width × height) an upload may have, read from its header before any
    /// pixel is decoded; more is a 422.
    #[arg(long, env = "HERALD_MEDIA_MAX_PIXELS", default_value_t = crate::media::DEFAULT_MAX_PIXELS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub media_max_pixels: u64,
    /// The most frames an animated GIF may have (only its first is served); more is a 422.
    #[arg(long, env = "HERALD_MEDIA_MAX_FRAMES", default_value_t = crate::media::DEFAULT_MAX_FRAMES,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub media_max_frames: u32,
    /// Uploads decoded and resized at once, each on a blocking thread [default: half the cores,
    /// at least one].
    #[arg(long, env = "HERALD_MEDIA_WORKERS", value_parser = at_least_one)]
    pub media_workers: Option<usize>,
    /// Bytes of media files kept in memory for `/media/…`; the least recently used go first.
    #[arg(long, env = "HERALD_MEDIA_CACHE_BUDGET", default_value_t = crate::media::DEFAULT_CACHE_BUDGET)]
    pub media_cache_budget: usize,
}

impl From<MediaArgs> for crate::media::MediaSettings {
    fn from(args: MediaArgs) -> Self {
        Self {
            max_bytes: args.media_max_bytes,
            max_pixels: args.media_max_pixels,
            max_frames: args.media_max_frames,
            workers: args
                .media_workers
                .unwrap_or_else(crate::media::default_workers),
            cache_budget: args.media_cache_budget,
        }
    }
}

pub const DEFAULT_CACHE_MAX_AGE: u32 = 60;
pub const DEFAULT_CACHE_BUDGET: usize = 64 << 20;

/// A count that must not be zero (actix refuses zero workers by panicking).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Clone, Args)]
pub struct FeedArgs {
    /// How many of the newest items a feed carries.
    #[arg(long, env = "HERALD_FEED_SIZE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub feed_size: u32,
    /// Feed title.
    #[arg(long, env = "HERALD_TITLE", default_value = "News")]
    pub title: String,
    /// Feed subtitle (Atom subtitle, RSS description, JSON Feed description).
    #[arg(long, env = "HERALD_SUBTITLE", default_value = "The latest news")]
    pub subtitle: String,
    /// Author of every item [default: the feed title].
    #[arg(long, env = "HERALD_AUTHOR")]
    pub author: Option<String>,
    /// Language of the content, a BCP 47 tag (`en`, `nb-NO`): RSS `<language>`, Atom
    /// `xml:lang`, JSON Feed `language`, HTML `lang`.
    #[arg(long, env = "HERALD_LANGUAGE", default_value = DEFAULT_LANGUAGE, value_parser = language_tag)]
    pub language: String,
}

pub const DEFAULT_LANGUAGE: &str = "en";

/// A well-formed BCP 47 language tag (RFC 5646), as written.
fn language_tag(value: &str) -> Result<String, String> {
    language_tags::LanguageTag::parse(value)
        .map(|tag| tag.to_string())
        .map_err(|e| format!("must be a BCP 47 language tag such as `en` or `nb-NO`: {e}"))
}

/// What feeds say about themselves, and how long they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    pub size: u32,
    pub title: String,
    pub subtitle: String,
    pub author: String,
    /// BCP 47 language tag of the content.
    pub language: String,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self::from(FeedArgs {
            feed_size: 20,
            title: "News".to_owned(),
            subtitle: "The latest news".to_owned(),
            author: None,
            language: DEFAULT_LANGUAGE.to_owned(),
        })
    }
}

impl From<FeedArgs> for FeedSettings {
    fn from(args: FeedArgs) -> Self {
        let author = args
            .author
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| args.title.clone());
        Self {
            size: args.feed_size,
            title: args.title,
            subtitle: args.subtitle,
            author,
            language: args.language,
        }
    }
}

/// What the running service needs, however it was configured.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    /// Pool size and connection timeout, for every engine.
    pub pool: PoolSettings,
    pub bind: SocketAddr,
    /// `None`: derived from the bound address once the listener exists (port 0 in tests).
    pub public_url: Option<Url>,
    pub seed_dir: Option<PathBuf>,
    pub cors_origins: CorsOrigins,
    pub websub_hub: Option<Url>,
    pub feed: FeedSettings,
    pub cache_max_age: u32,
    /// Bytes the response cache may hold (see `response_cache`).
    pub cache_budget: usize,
    /// HTTP worker threads; `None`: actix's default, one per CPU core.
    pub workers: Option<usize>,
    /// How often the change log is polled (see `events::watch`); not a flag: tests lengthen it
    /// to show that the store's wake-ups alone bring another replica's writes.
    pub watch_every: Duration,
    /// Connection limits, shutdown and metrics address.
    pub ops: OpsSettings,
    /// How long one request may take (see `time_budget`).
    pub time_budget: crate::time_budget::TimeBudget,
    /// Previews and rate limits (issue 17).
    pub integrations: IntegrationArgs,
    /// Upload limits, workers and the media file cache (issue 16).
    pub media: crate::media::MediaSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::new(DEFAULT_DATABASE_URL),
            pool: PoolSettings::default(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            seed_dir: None,
            cors_origins: CorsOrigins::default(),
            websub_hub: None,
            feed: FeedSettings::default(),
            cache_max_age: DEFAULT_CACHE_MAX_AGE,
            cache_budget: DEFAULT_CACHE_BUDGET,
            workers: None,
            watch_every: crate::events::WATCH_EVERY,
            ops: OpsSettings::default(),
            time_budget: crate::time_budget::TimeBudget::default(),
            integrations: IntegrationArgs::default(),
            media: crate::media::MediaSettings::default(),
        }
    }
}

impl From<ServeArgs> for Settings {
    fn from(args: ServeArgs) -> Self {
        Settings {
            pool: args.db.pool(),
            database_url: args.db.database_url,
            bind: args.bind,
            public_url: args.public_url,
            seed_dir: Some(args.seed_dir),
            cors_origins: args.cors_origins,
            websub_hub: args.websub_hub,
            feed: FeedSettings::from(args.feed),
            cache_max_age: args.cache_max_age,
            cache_budget: args.cache_budget,
            workers: args.workers,
            watch_every: crate::events::WATCH_EVERY,
            ops: OpsSettings::from(args.ops),
            time_budget: crate::time_budget::TimeBudget {
                read: args.read_timeout,
                write: args.write_timeout,
            },
            integrations: args.integrations,
            media: args.media.into(),
        }
    }
}

/// Operating a server: how long and how much slow or idle clients may take, how long a stop
/// waits for requests in flight, and where `/metrics` is served.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// Seconds a client has to send a request's whole head (line and headers) before it is
    /// answered 408 and dropped (slowloris).
    #[arg(long, env = "HERALD_HEADER_READ_TIMEOUT", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout: u64,
    /// Seconds an idle kept-alive connection stays open.
    #[arg(long, env = "HERALD_KEEP_ALIVE", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keep_alive: u64,
    /// Bytes a request's header fields (names and values) may add up to; more is a 431.
    #[arg(long, env = "HERALD_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=MAX_HEADER_BYTES_CEILING))]
    pub max_header_bytes: u64,
    /// Seconds a stop (SIGTERM, SIGINT) waits for requests in flight before closing them.
    #[arg(long, env = "HERALD_SHUTDOWN_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout: u64,
    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9090`), not on the public one.
    #[arg(long, env = "HERALD_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

pub const DEFAULT_MAX_HEADER_BYTES: u64 = 16 * 1024;
/// actix-web drops a connection whose request head passes 128 KiB before anything else sees it,
/// so a larger setting would never apply.
pub const MAX_HEADER_BYTES_CEILING: u64 = 128 * 1024;

/// See [`OpsArgs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSettings {
    pub header_read_timeout: Duration,
    pub keep_alive: Duration,
    pub max_header_bytes: usize,
    pub shutdown_timeout: Duration,
    pub metrics_bind: Option<SocketAddr>,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(5),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES as usize,
            shutdown_timeout: Duration::from_secs(30),
            metrics_bind: None,
        }
    }
}

impl From<OpsArgs> for OpsSettings {
    fn from(args: OpsArgs) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(args.header_read_timeout),
            keep_alive: Duration::from_secs(args.keep_alive),
            max_header_bytes: args.max_header_bytes as usize,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
            metrics_bind: args.metrics_bind,
        }
    }
}

/// How log lines are written (`HERALD_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, with the request id of the line's request.
    Json,
}

/// Settings of the integrations: draft previews and rate limits.
#[derive(Debug, Clone, Args)]
pub struct IntegrationArgs {
    /// Seconds a preview link (`POST /api/v1/news/{key}/preview`) works.
    #[arg(long, env = "HERALD_PREVIEW_LIFETIME", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub preview_lifetime: u64,
    /// Failed authentication attempts a client address may make per minute (0: no limit).
    #[arg(long, env = "HERALD_RATE_LIMIT_AUTH_FAILURES", default_value_t = 10)]
    pub rate_limit_auth_failures: u32,
    /// Writes (and uploads) per minute, per client address and per token (0: no limit).
    #[arg(long, env = "HERALD_RATE_LIMIT_WRITES", default_value_t = 120)]
    pub rate_limit_writes: u32,
    /// Anonymous reads per minute per client address (0, the default: no limit).
    #[arg(long, env = "HERALD_RATE_LIMIT_READS", default_value_t = 0)]
    pub rate_limit_reads: u32,
    /// Proxy addresses whose `X-Forwarded-For` is believed, comma-separated; from anyone
    /// else the header is ignored and the connection's address counts.
    #[arg(long, env = "HERALD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether this process sends webhook deliveries (`false`: it only queues them, for another
    /// replica or a later start to send).
    #[arg(long, env = "HERALD_WEBHOOK_DELIVERY", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub webhook_delivery: bool,
    /// Seconds one webhook attempt may take (connecting, sending, the answer's head).
    #[arg(long, env = "HERALD_WEBHOOK_TIMEOUT", default_value = "10",
          value_parser = crate::time_budget::parse_secs)]
    pub webhook_timeout: Duration,
    /// Waits before each retry of a failed webhook delivery, comma-separated, each with `ms`,
    /// `s`, `m` or `h`; after the last, the delivery has failed and its webhook is disabled.
    #[arg(long, env = "HERALD_WEBHOOK_RETRY_SCHEDULE",
          default_value = crate::webhooks::DEFAULT_RETRY_SCHEDULE,
          value_parser = crate::webhooks::parse_schedule)]
    pub webhook_retry_schedule: crate::webhooks::RetrySchedule,
    /// Allow webhook targets on loopback, private and link-local addresses (development only:
    /// otherwise anyone with the `webhooks` scope could make Herald call internal services).
    #[arg(long, env = "HERALD_WEBHOOK_ALLOW_PRIVATE", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Seconds a webhook's old secret keeps signing (beside the new one) after a rotation.
    #[arg(long, env = "HERALD_WEBHOOK_SECRET_GRACE", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(0..=2_592_000))]
    pub webhook_secret_grace: u64,
}

impl Default for IntegrationArgs {
    fn default() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            args: IntegrationArgs,
        }
        Defaults::parse_from(["herald"]).args
    }
}

/// A base URL whose path ends in `/`, so `join("news/x")` stays below it.
pub fn normalise_base(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// `http://<addr>/`, the public URL when none is configured.
pub fn default_public_url(addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{addr}/")).expect("a socket address makes a valid URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_end_in_a_slash() {
        let u = normalise_base(Url::parse("https://example.org/herald?x=1").unwrap());
        assert_eq!(u.as_str(), "https://example.org/herald/");
        assert_eq!(
            u.join("news/a").unwrap().as_str(),
            "https://example.org/herald/news/a"
        );
    }

    #[test]
    fn cli_reads_flags() {
        let cli = Cli::try_parse_from(["herald", "serve", "--bind", "0.0.0.0:9000"]).unwrap();
        match cli.command {
            Some(Command::Serve(args)) => assert_eq!(args.bind.port(), 9000),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn cli_reads_token_commands() {
        let cli = Cli::try_parse_from(["herald", "token", "create", "--name", "ci"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Token(TokenCommand::Create { name, .. })) if name == "ci"
        ));
        let cli = Cli::try_parse_from(["herald", "token", "revoke", "ci"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Token(TokenCommand::Revoke { name, .. })) if name == "ci"
        ));
        assert!(Cli::try_parse_from(["herald", "token", "create"]).is_err());
        let cli = Cli::try_parse_from([
            "herald",
            "token",
            "create",
            "--name",
            "anna",
            "--scope",
            "write,publish",
            "--expires-in",
            "30d",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Token(TokenCommand::Create { scope: Some(s), expires_in: Some(e), .. }))
                if s == "write,publish" && e == "30d"
        ));
    }

    #[test]
    fn integration_settings_have_defaults_and_read_proxies() {
        let defaults = IntegrationArgs::default();
        assert_eq!(defaults.preview_lifetime, 3600);
        assert_eq!(defaults.rate_limit_reads, 0);
        let cli = Cli::try_parse_from([
            "herald",
            "--trusted-proxies",
            "10.0.0.1,::1",
            "--rate-limit-writes",
            "5",
        ])
        .unwrap();
        assert_eq!(cli.serve.integrations.trusted_proxies.len(), 2);
        assert_eq!(cli.serve.integrations.rate_limit_writes, 5);
        assert!(Cli::try_parse_from(["herald", "--trusted-proxies", "proxy.example"]).is_err());
    }

    #[test]
    fn cors_origins_default_to_public_reads_and_reject_non_origins() {
        let cli = Cli::try_parse_from(["herald"]).unwrap();
        assert_eq!(cli.serve.cors_origins, CorsOrigins::default());
        let cli = Cli::try_parse_from(["herald", "--cors-origins", "https://a.example"]).unwrap();
        assert_eq!(cli.serve.cors_origins.trusted, ["https://a.example"]);
        assert!(Cli::try_parse_from(["herald", "--cors-origins", "a.example"]).is_err());
    }

    #[test]
    fn the_cache_budget_defaults_to_64_mib() {
        let cli = Cli::try_parse_from(["herald"]).unwrap();
        assert_eq!(Settings::from(cli.serve).cache_budget, 64 << 20);
        let cli = Cli::try_parse_from(["herald", "--cache-budget", "1000000"]).unwrap();
        assert_eq!(Settings::from(cli.serve).cache_budget, 1_000_000);
        assert!(Cli::try_parse_from(["herald", "--cache-budget", "lots"]).is_err());
    }

    #[test]
    fn feed_author_falls_back_to_the_title() {
        let cli =
            Cli::try_parse_from(["herald", "--title", "Acme news", "--feed-size", "5"]).unwrap();
        let settings = Settings::from(cli.serve);
        assert_eq!(settings.feed.author, "Acme news");
        assert_eq!(settings.feed.size, 5);
        assert_eq!(settings.cache_max_age, DEFAULT_CACHE_MAX_AGE);
        let cli =
            Cli::try_parse_from(["herald", "--author", "Desk", "--cache-max-age", "5"]).unwrap();
        let settings = Settings::from(cli.serve);
        assert_eq!(settings.feed.author, "Desk");
        assert_eq!(settings.cache_max_age, 5);
        assert!(Cli::try_parse_from(["herald", "--feed-size", "0"]).is_err());
    }

    #[test]
    fn the_language_is_a_bcp47_tag_defaulting_to_en() {
        let settings = Settings::from(Cli::try_parse_from(["herald"]).unwrap().serve);
        assert_eq!(settings.feed.language, "en");
        let cli = Cli::try_parse_from(["herald", "--language", "nb-NO"]).unwrap();
        assert_eq!(Settings::from(cli.serve).feed.language, "nb-NO");
        for bad in ["", "english language", "en_US", "x"] {
            assert!(
                Cli::try_parse_from(["herald", "--language", bad]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn settings_never_print_a_database_password() {
        for (url, shown) in [
            (
                "postgres://herald:s3cret@db.example:5432/news",
                "postgres://herald:***@db.example:5432/news",
            ),
            (
                "postgres://herald:s3cret@db.example/news?sslmode=require&password=s3cret",
                "postgres://herald:***@db.example/news?sslmode=require&password=***",
            ),
            (
                "postgres://db.example/news?PASSWORD=s3cret",
                "postgres://db.example/news?PASSWORD=***",
            ),
            // Unescaped, as people do type them: hidden whole all the same.
            (
                "postgres://herald:s3?cr@et@db.example/news",
                "postgres://herald:***@db.example/news",
            ),
        ] {
            let cli = Cli::try_parse_from(["herald", "--database-url", url]).unwrap();
            let settings = Settings::from(cli.serve);
            assert_eq!(settings.database_url.expose(), url);
            let debug = format!("{settings:?}");
            assert!(!debug.contains("s3cret"), "{debug}");
            assert!(debug.contains(shown), "{debug}");
            assert_eq!(settings.database_url.to_string(), shown);
        }
        // Nothing to hide: shown as given.
        let sqlite = DatabaseUrl::new("sqlite://herald.db");
        assert_eq!(format!("{sqlite}"), "sqlite://herald.db");
        let user_only = DatabaseUrl::new("postgres://herald@db.example/news");
        assert_eq!(format!("{user_only}"), "postgres://herald@db.example/news");
    }

    #[test]
    fn pool_settings_default_and_reach_the_settings() {
        let settings = Settings::from(Cli::try_parse_from(["herald"]).unwrap().serve);
        assert_eq!(settings.pool, PoolSettings::default());
        let cli =
            Cli::try_parse_from(["herald", "--db-pool-size", "3", "--db-timeout", "2"]).unwrap();
        let settings = Settings::from(cli.serve);
        assert_eq!(settings.pool.max_connections, 3);
        assert_eq!(settings.pool.timeout, Duration::from_secs(2));
        let cli = Cli::try_parse_from(["herald", "migrate", "--db-pool-size", "2"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Migrate(db)) if db.pool().max_connections == 2)
        );
        for bad in [["--db-pool-size", "0"], ["--db-timeout", "0"]] {
            assert!(Cli::try_parse_from(["herald", bad[0], bad[1]]).is_err());
        }
    }

    #[test]
    fn workers_default_to_actix_and_must_be_positive() {
        let settings = Settings::from(Cli::try_parse_from(["herald"]).unwrap().serve);
        assert_eq!(settings.workers, None);
        let cli = Cli::try_parse_from(["herald", "--workers", "1"]).unwrap();
        assert_eq!(Settings::from(cli.serve).workers, Some(1));
        assert!(Cli::try_parse_from(["herald", "--workers", "0"]).is_err());
    }
}
