//! Logs (tracing to stderr) and, when `[telemetry] otlp_endpoint` is set, one
//! OpenTelemetry trace per command exported over OTLP/HTTP (protobuf) by a batch
//! processor on its own thread: a stage never waits for the collector, and when the
//! collector is down or slow, failed batches and a full queue drop spans, counted
//! (`spans_dropped`).
//!
//! The exporter's HTTP client is built here, before the actix System starts (a client
//! that needs a live Tokio runtime would fail there). Span names: `command` (the root,
//! opened where a command enters), then `wake.detect`, `vad.endpoint`,
//! `stt.transcribe`, `brain.parse`, `exec.step` (one per step; parallel steps are
//! siblings), `store.write`, `tts.speak`; stages open theirs inside the root span the
//! message envelope carries.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
    SpanProcessor,
};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
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

/// Spans that never reached the collector (`luna_trace_spans_dropped_total`): those of
/// batches that failed to export, and those that found the queue full.
static SPANS_DROPPED: AtomicU64 = AtomicU64::new(0);

pub fn spans_dropped() -> u64 {
    SPANS_DROPPED.load(Ordering::Relaxed)
}

/// Spans the batch processor may hold: queued, or in a batch being exported.
const QUEUE: usize = 2048;

/// Spans handed to the batch processor and not yet back from an export. The SDK's
/// processor drops spans when its queue is full but keeps that count to itself, so the
/// queue is bounded here instead: at `capacity` spans in flight a new span is dropped
/// and counted, and the SDK's own queue (as large) never fills.
#[derive(Debug)]
struct InFlight {
    spans: AtomicU64,
    capacity: u64,
}

impl InFlight {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            spans: AtomicU64::new(0),
            capacity: capacity as u64,
        })
    }

    /// Takes a place for one span; false (and counted as dropped) when full.
    fn admit(&self) -> bool {
        let admitted = self
            .spans
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            SPANS_DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    fn release(&self, spans: u64) {
        let _ = self
            .spans
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(spans))
            });
    }
}

/// The batch processor behind a bounded, counted door (see `InFlight`).
#[derive(Debug)]
struct Bounded<P> {
    inner: P,
    in_flight: Arc<InFlight>,
}

impl<P: SpanProcessor> SpanProcessor for Bounded<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        // Unsampled spans are never exported, so never come back from an export.
        if !span.span_context.is_sampled() || self.in_flight.admit() {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter: gives each batch's places back, and counts the spans of every
/// batch it fails to deliver.
#[derive(Debug)]
struct CountingDrops<E> {
    inner: E,
    in_flight: Arc<InFlight>,
}

impl<E: SpanExporter> SpanExporter for CountingDrops<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans = batch.len() as u64;
        let exported = self.inner.export(batch);
        let in_flight = Arc::clone(&self.in_flight);
        async move {
            let result = exported.await;
            in_flight.release(spans);
            if result.is_err() {
                SPANS_DROPPED.fetch_add(spans, Ordering::Relaxed);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// `exporter` behind a batch processor whose full queue drops spans with a count.
fn bounded_batch_processor(
    exporter: impl SpanExporter + 'static,
    capacity: usize,
) -> Bounded<BatchSpanProcessor> {
    let in_flight = InFlight::new(capacity);
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(capacity)
        .build();
    let inner = BatchSpanProcessor::builder(CountingDrops {
        inner: exporter,
        in_flight: Arc::clone(&in_flight),
    })
    .with_batch_config(config)
    .build();
    Bounded { inner, in_flight }
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
    // Logs go to a duplicate of stderr made now: while an audio device is opened, fd 2
    // itself is pointed at /dev/null for a moment (`audio::capture::quiet_stderr`,
    // ALSA's chatter), and log lines written by other threads then must not vanish.
    let writer = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => BoxMakeWriter::new(Arc::new(std::fs::File::from(fd))),
        Err(_) => BoxMakeWriter::new(std::io::stderr),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
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
            .with_span_processor(bounded_batch_processor(exporter, QUEUE))
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _};
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Condvar, Mutex};

    /// A collector that takes nothing until opened, then everything.
    #[derive(Debug, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, Condvar)>,
        received: Arc<AtomicUsize>,
    }

    impl SpanExporter for Gate {
        fn export(
            &self,
            batch: Vec<SpanData>,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            let (lock, opened) = &*self.open;
            let guard = lock.lock().unwrap();
            let (guard, _) = opened
                .wait_timeout_while(guard, Duration::from_secs(10), |open| !*open)
                .unwrap();
            assert!(*guard, "the test never opened the gate");
            self.received.fetch_add(batch.len(), Ordering::SeqCst);
            std::future::ready(Ok(()))
        }
    }

    #[test]
    fn a_full_queue_drops_spans_and_counts_them_then_takes_spans_again() {
        let gate = Gate::default();
        let (open, received) = (Arc::clone(&gate.open), Arc::clone(&gate.received));
        let processor = bounded_batch_processor(gate, 4);
        let in_flight = Arc::clone(&processor.in_flight);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        let before = spans_dropped();
        for _ in 0..10 {
            tracer.start("step").end();
        }
        // The collector is stuck: four spans wait, six found no room.
        assert_eq!(in_flight.spans.load(Ordering::SeqCst), 4);
        assert_eq!(spans_dropped() - before, 6);
        *open.0.lock().unwrap() = true;
        open.1.notify_all();
        provider.force_flush().unwrap();
        assert_eq!(received.load(Ordering::SeqCst), 4);
        assert_eq!(in_flight.spans.load(Ordering::SeqCst), 0);
        for _ in 0..3 {
            tracer.start("step").end();
        }
        provider.force_flush().unwrap();
        assert_eq!(received.load(Ordering::SeqCst), 7);
        assert_eq!(
            spans_dropped() - before,
            6,
            "room again: nothing more dropped"
        );
        provider.shutdown().unwrap();
    }
}
