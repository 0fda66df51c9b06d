//! What operating a store needs from every engine: whether its migrations are current
//! (`/readyz`: the engines run [`APPLIED_MIGRATIONS_SQL`] and ask [`all_applied`]), and its
//! pool's numbers (`/metrics`).

use sqlx::migrate::Migrator;

use super::PoolStats;

/// What a pool of any engine has open, idle and allowed.
pub fn pool_stats<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolStats {
    PoolStats {
        open: pool.size(),
        idle: pool.num_idle() as u32,
        max: pool.options().get_max_connections(),
    }
}

/// The versions sqlx recorded as applied; the same table and columns on every engine.
pub const APPLIED_MIGRATIONS_SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success";

/// Whether every migration `migrator` knows is among `applied` (a store migrated by a newer
/// build has more, which is its business).
pub fn all_applied(migrator: &Migrator, applied: &[i64]) -> bool {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.contains(&m.version))
}
