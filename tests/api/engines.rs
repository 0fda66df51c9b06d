//! Which engine this run tests, said out loud: a run without PostgreSQL prints that the
//! PostgreSQL half was skipped, and CI cannot pass without it (see `.ci/run`).

use std::io::Write;

use crate::helpers::{Engine, POSTGRES_VAR, engine, spawn_app};

/// Set by `.ci/run` for its SQLite run, which it follows with the PostgreSQL one.
const SQLITE_ON_PURPOSE_VAR: &str = "HERALD_TEST_SQLITE_ONLY";

#[tokio::test]
async fn the_suite_runs_on_the_engine_asked_for() {
    let app = spawn_app().await;
    match engine() {
        Engine::Postgres => {
            assert!(herald::store::is_postgres_url(&app.database_url));
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let version: String = sqlx::query_scalar("SELECT version()")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            assert!(version.starts_with("PostgreSQL"), "{version}");
        }
        Engine::Sqlite => {
            assert!(app.database_url.starts_with("sqlite://"));
            // Past the harness's capture, so the line shows in a passing run.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL half skipped: set {POSTGRES_VAR}=postgres://USER@HOST:PORT to run \
                 this suite on PostgreSQL too (.ci/run does)"
            );
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            let on_purpose = std::env::var(SQLITE_ON_PURPOSE_VAR).is_ok_and(|v| v == "1");
            assert!(
                !ci || on_purpose,
                "CI=true but {POSTGRES_VAR} is unset: CI must run the suite on PostgreSQL too \
                 (.ci/run sets {SQLITE_ON_PURPOSE_VAR}=1 for its SQLite run and then runs it)"
            );
        }
    }
}
