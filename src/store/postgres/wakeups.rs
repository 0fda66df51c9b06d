//! `LISTEN herald_changes`: every writer's transaction sends `NOTIFY` (see [`super::changes`]),
//! so a replica hears of another's write at once instead of at its next poll of the log.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::CHANGES_CHANNEL;
use crate::store::{ChangeWakeups, StoreResult};

/// A wait before listening again after the connection failed to come back.
const RELISTEN: Duration = Duration::from_secs(1);

/// Starts listening and forwards every notification as a wake-up until the receiver drops.
/// The listener has a connection of its own, outside `pool`: it is held for as long as the
/// process runs, and must not take one that requests wait for.
pub(super) async fn listen(pool: &PgPool) -> StoreResult<ChangeWakeups> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    // A few queued wake-ups are as good as many: the watcher reads the whole log each time.
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            let received = tokio::select! {
                () = sender.closed() => return,
                received = listener.try_recv() => received,
            };
            match received {
                // A notification; or `None`: the connection was lost (it is re-established on
                // the next call) and notifications may have been missed meanwhile.
                Ok(_) => {
                    if failing {
                        tracing::info!("listening for changes again");
                        failing = false;
                    }
                    if let Err(mpsc::error::TrySendError::Closed(())) = sender.try_send(()) {
                        return;
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "cannot listen for changes; polling meanwhile");
                        failing = true;
                    }
                    tokio::time::sleep(RELISTEN).await;
                }
            }
        }
    });
    Ok(receiver)
}
