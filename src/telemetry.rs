//! Logs (tracing to stderr) and, when `[telemetry] otlp_endpoint` is set, one
//! OpenTelemetry trace per command exported over OTLP/HTTP (protobuf) by a batch
//! processor on its own thread: a stage never waits for the collector, and when the
//! collector is down or slow, failed batches and a full queue drop spans.
//!
//! The exporter's HTTP client is built here, before the actix System starts (a client
//! that needs a live Tokio runtime would fail there). Span names: `command` (the root,
//! opened where a command enters), then `wake.detect`, `vad.endpoint`,
//! `stt.transcribe`, `brain.parse`, `exec.step` (one per step; parallel steps are
//! siblings), `store.write`, `tts.speak`; stages open theirs inside the root span the
//! message envelope carries.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::TelemetryConfig;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot set up trace export to {endpoint}: {error}")]
    Exporter { endpoint: String, error: String },
}

/// Keeps trace export alive; flushes what is queued when dropped (at exit).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("luna: could not flush traces: {e}");
            }
        }
    }
}

/// Spans that never reached the collector because their batch failed to export
/// (`luna_trace_spans_dropped_total`). Spans dropped from a full queue are logged once
/// by the SDK, which keeps that count to itself.
static SPANS_DROPPED: AtomicU64 = AtomicU64::new(0);

pub fn spans_dropped() -> u64 {
    SPANS_DROPPED.load(Ordering::Relaxed)
}

/// The OTLP exporter, counting the spans of every batch it fails to deliver.
#[derive(Debug)]
struct CountingDrops<E>(E);

impl<E: SpanExporter> SpanExporter for CountingDrops<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans = batch.len() as u64;
        let exported = self.0.export(batch);
        async move {
            let result = exported.await;
            if result.is_err() {
                SPANS_DROPPED.fetch_add(spans, Ordering::Relaxed);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.0.set_resource(resource);
    }
}

/// Installs the global subscriber: logs filtered by `RUST_LOG` if set (and not empty),
/// else `[telemetry] log_level` (whisper.cpp's chatter kept to warnings); plus the
/// OTLP trace layer when an endpoint is configured.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = from_env
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("{},whisper_rs=warn", config.log_level)));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = if config.log_format == "json" {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let (provider, traces) = if config.otlp_endpoint.is_empty() {
        (None, None)
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(&config.otlp_endpoint)
            .build()
            .map_err(|e| TelemetryError::Exporter {
                endpoint: config.otlp_endpoint.clone(),
                error: e.to_string(),
            })?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("luna")
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(CountingDrops(exporter))
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("luna");
        // The stages' spans are at debug level; LUNA's own crates only.
        let only_luna = Targets::new()
            .with_target("luna", LevelFilter::DEBUG)
            .with_target("luna_actors", LevelFilter::DEBUG);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(only_luna);
        (Some(provider), Some(layer))
    };
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(traces)
        .try_init();
    Ok(Telemetry { provider })
}
