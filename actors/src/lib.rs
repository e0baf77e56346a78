//! LUNA's actor runtime, built on actix 0.13 and knowing nothing about voice.
//!
//! * [`Envelope`] — every message between stages: a correlation id minted where a
//!   command enters, the trace context of the command's root span, and capture
//!   timestamps for latency accounting.
//! * [`StageActor`] — supervision that actix lacks: a panic (or an error the stage
//!   marks fatal) rebuilds the stage's state through its factory at the same address,
//!   with backoff and a restart-intensity limit beyond which the failure escalates.
//! * [`fan_out`] — one child actor per job, joined with a per-child timeout and an
//!   optional cancellation signal.

mod envelope;
mod fanout;
pub mod faults;
mod supervise;

pub use envelope::{CorrelationId, Envelope, TraceContext};
pub use fanout::{fan_out, ChildError, ChildOutcome, FanOut};
pub use supervise::{
    Escalation, Push, RestartPolicy, Run, Stage, StageActor, StageAddr, StageError, StageStats,
    StatsSnapshot,
};
