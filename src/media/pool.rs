//! The bounded pool uploads are processed on: at most `workers` at once, each on a blocking
//! thread, so decoding never holds up the async workers that answer reads.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{MediaError, MediaSettings, Processed};

#[derive(Clone)]
pub struct Processor {
    settings: Arc<MediaSettings>,
    permits: Arc<Semaphore>,
}

impl Processor {
    pub fn new(settings: MediaSettings) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(settings.workers.max(1))),
            settings: Arc::new(settings),
        }
    }

    pub fn settings(&self) -> &MediaSettings {
        &self.settings
    }

    /// Processes `bytes` (declared as `declared`) once a worker is free.
    pub async fn process(
        &self,
        bytes: actix_web::web::Bytes,
        declared: super::ImageType,
    ) -> Result<Processed, MediaError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| MediaError::Internal(e.into()))?;
        let settings = self.settings.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            super::process(&bytes, declared, &settings)
        });
        match job.await {
            Ok(result) => result,
            // A decoder that panics on these bytes: the input is what is broken.
            Err(e) if e.is_panic() => {
                tracing::warn!("an image decoder panicked on an upload");
                Err(MediaError::Corrupt("it could not be decoded".to_owned()))
            }
            Err(e) => Err(MediaError::Internal(e.into())),
        }
    }
}
