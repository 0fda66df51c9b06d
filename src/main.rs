use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use herald::api::news::rfc3339;
use herald::clock::{Clock, SystemClock};
use herald::config::{
    Cli, Command, DatabaseArgs, DatabaseUrl, Settings, TokenCommand, default_public_url,
    normalise_base,
};
use herald::startup::{self, Application};
use herald::{auth, import, store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logs go to stderr, so `herald token create` and friends keep stdout for their answer.
    herald::logging::init(cli.log_format);
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            let app = Application::build(Settings::from(args)).await?;
            tracing::info!(port = app.port(), public_url = %app.public_url(), "serving");
            app.run_until_stopped().await?;
        }
        Command::Migrate(db) => {
            open(&db).await?;
            println!("migrations applied");
        }
        Command::Import {
            db,
            path,
            public_url,
            dry_run,
        } => {
            // A store that does not exist yet is built aside and moved into place when whole.
            let fresh =
                store::sqlite::FreshFile::for_url(db.database_url.expose()).filter(|_| !dry_run);
            let (store, building) = match &fresh {
                Some(fresh) => {
                    let built = Arc::new(fresh.open().await?);
                    let store: store::DynStore = built.clone();
                    store.migrate().await?;
                    fresh.defer_search_index(&built).await?;
                    (store, Some(built))
                }
                None => (open(&db).await?, None),
            };
            // Render against the URL the server last used, so a later `serve` need not redo it;
            // only a URL the store has not rendered against needs a re-render.
            let base = match (public_url, startup::render_base(&store).await?) {
                (None, Some(stored)) => stored,
                (given, _) => {
                    let base = match given {
                        Some(url) => normalise_base(url),
                        None => default_public_url("127.0.0.1:8080".parse()?),
                    };
                    startup::ensure_render_base(&store, &base).await?;
                    base
                }
            };
            let started = std::time::Instant::now();
            let options = import::Options { dry_run };
            let imported =
                import::import_with(&store, &path, &base, SystemClock.now(), options).await;
            let report = match (fresh, building) {
                (Some(fresh), Some(built)) if imported.is_ok() => {
                    fresh.commit(&built).await?;
                    imported
                }
                (Some(fresh), _) => {
                    fresh.abandon();
                    imported
                }
                _ => imported,
            }
            .with_context(|| format!("importing {}", path.display()))?;
            let secs = started.elapsed().as_secs_f64();
            let total = report.created + report.updated + report.unchanged;
            println!(
                "{} {}: {} created, {} updated, {} unchanged, {} skipped in {secs:.1} s ({:.0} \
                 items/s)",
                if dry_run {
                    "dry run, nothing written:"
                } else {
                    "imported"
                },
                path.display(),
                report.created,
                report.updated,
                report.unchanged,
                report.skipped,
                total as f64 / secs.max(1e-9),
            );
        }
        Command::Export { db, path } => {
            let store = open(&db).await?;
            let written = match path.as_deref().filter(|p| *p != std::path::Path::new("-")) {
                Some(path) => {
                    // Written aside and renamed when whole, so a failed export never leaves a
                    // file that looks complete.
                    let partial = path.with_extension("partial");
                    let file = std::fs::File::create(&partial)
                        .with_context(|| format!("cannot create {}", partial.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    let written = import::export::write(&store, &mut out).await?;
                    out.into_inner()?.sync_all()?;
                    std::fs::rename(&partial, path)?;
                    written
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    import::export::write(&store, &mut out).await?
                }
            };
            eprintln!(
                "exported {} items, {} tokens, {} meta entries, {} changes",
                written.items, written.tokens, written.meta, written.changes
            );
        }
        Command::CopyStore { from, to, force } => {
            if from == to {
                anyhow::bail!("--from and --to name the same store");
            }
            let open_url = |url: DatabaseUrl| async move {
                let store = store::connect(url.expose())
                    .await
                    .with_context(|| format!("opening {url}"))?;
                store.migrate().await?;
                anyhow::Ok(store)
            };
            let (source, target) = (open_url(from.clone()).await?, open_url(to.clone()).await?);
            let started = std::time::Instant::now();
            let report = store::copy::copy_store(&source, &target, force).await?;
            if !report.replaced.is_empty() {
                println!(
                    "deleted what {to} held: {}",
                    store::copy::describe(&report.replaced)
                );
            }
            println!(
                "copied {from} to {to}: {} in {:.1} s; counts verified",
                store::copy::describe(&report.copied),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Token(command) => token(command).await?,
        Command::Openapi => print!("{}", herald::openapi::yaml()),
        Command::Backup { db, path } => {
            let store = open(&db).await?;
            let started = std::time::Instant::now();
            store
                .backup_to(&path)
                .await
                .with_context(|| format!("backing up {} to {}", db.database_url, path.display()))?;
            println!(
                "backed up {} to {} in {:.1} s; integrity_check ok",
                db.database_url,
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn open(db: &DatabaseArgs) -> anyhow::Result<store::DynStore> {
    let store = store::connect_with(db.database_url.expose(), db.pool()).await?;
    store.migrate().await?;
    Ok(store)
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            db,
            name,
            scope,
            expires_in,
        } => {
            let now = SystemClock.now();
            let spec = auth::TokenSpec {
                name: name.clone(),
                scopes: match scope {
                    Some(list) => auth::Scopes::parse_list(&list).map_err(anyhow::Error::msg)?,
                    None => auth::Scopes::full(),
                },
                expires_at: expires_in
                    .map(|text| auth::parse_lifetime(&text).map(|lifetime| now + lifetime))
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
            };
            let store = open(&db).await?;
            let token = auth::issue_with(&store, &spec, now).await?;
            // The token alone on stdout, so scripts can capture it; the advice goes to stderr.
            println!("{token}");
            eprintln!(
                "token `{}` created; it is shown only this once",
                name.trim()
            );
        }
        TokenCommand::List(db) => {
            let store = open(&db).await?;
            println!(
                "{:<32} {:<13} {:<28} {:<22} {:<22} {:<22} REVOKED",
                "NAME", "PREFIX", "SCOPES", "CREATED", "EXPIRES", "LAST USED"
            );
            let or_dash = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(rfc3339).unwrap_or_else(|| "-".into())
            };
            for t in store.tokens().await? {
                println!(
                    "{:<32} {:<13} {:<28} {:<22} {:<22} {:<22} {}",
                    t.name,
                    t.prefix.as_deref().unwrap_or("-"),
                    t.scopes,
                    rfc3339(t.created_at),
                    or_dash(t.expires_at),
                    or_dash(t.last_used_at),
                    or_dash(t.revoked_at),
                );
            }
        }
        TokenCommand::Revoke { db, name } => {
            let store = open(&db).await?;
            match store.revoke_token(&name, SystemClock.now()).await {
                Ok(()) => println!("token `{name}` revoked"),
                Err(store::StoreError::NotFound) => {
                    anyhow::bail!("no active token named `{name}`")
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
