//! Where log lines go and how they look (`HERALD_LOG_FORMAT`), for every command.

use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Logs to stderr (stdout stays for commands' answers), filtered by `RUST_LOG` (default
/// `info`), as text or one JSON object per line; the request span's fields (its id) ride
/// along on every line.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry()
        .with(ClientFaultsBelowError)
        .with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry
            .with(fmt.with_ansi(std::io::stderr().is_terminal()))
            .init(),
        LogFormat::Json => registry
            .with(fmt.json().with_current_span(true).with_span_list(false))
            .init(),
    }
}

/// actix-web reports a request that is not HTTP (a bad request line, an invalid header) at
/// ERROR besides the TRACE line it writes for the same parse error. That is the client's fault,
/// not Herald's: the ERROR copy is dropped, so ERROR stays for faults an operator must look at.
struct ClientFaultsBelowError;

const ACTIX_DISPATCHER: &str = "actix_http::h1::dispatcher";
const CLIENT_PARSE_ERROR: &str = "stream error: request parse error";

impl<S: Subscriber> Layer<S> for ClientFaultsBelowError {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || meta.target() != ACTIX_DISPATCHER {
            return true;
        }
        let mut message = Message(false);
        event.record(&mut message);
        !message.0
    }
}

/// Whether the event's message is a client's parse error.
struct Message(bool);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").starts_with(CLIENT_PARSE_ERROR);
        }
    }
}
