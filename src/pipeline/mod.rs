//! The stage actors: thin shells around the stage logic, adding mailboxes,
//! supervision, spans and metrics, and the wiring that runs them as one daemon.
//! Nothing outside this module (and the binary) touches actix.

mod api;
mod audio_actor;
mod brain_actor;
mod console;
mod daemon;
mod downstream;
mod executor_actor;
mod satellites;
mod scheduler_actor;
mod store_actor;
mod stream_hearing;
mod stt_actor;
mod wake_actor;
mod wyoming_service;

pub use api::ApiError;
pub use audio_actor::{
    start_audio, start_vad, AudioFrames, AudioStage, Tick, UtteranceCut, VadCuts, VadStage,
};
pub use brain_actor::{start_brain, BrainRequest, BrainStage, BrainStageError};
pub use daemon::{Daemon, DaemonError, DaemonOptions};
pub use downstream::{CommandError, CommandRequest, Downstream, VoiceReport};
pub use executor_actor::{CancelRunning, ExecutorActor, RunPlan};
pub use scheduler_actor::{start_scheduler, start_tts, Reply, SchedulerStage, TtsStage};
pub use store_actor::{start_store, StoreReply, StoreRequest, StoreStage};
pub use stt_actor::{start_stt, SttRequest, SttStage, SttUtterance};
pub use wake_actor::{start_wake, WakeAudio, WakeStage};
pub use wyoming_service::start_wyoming;

use std::time::Duration;

use luna_actors::RestartPolicy;

use crate::config::SystemConfig;

/// The supervision policy of the `[system]` section. `retry_failed_message` is for
/// stages whose work is idempotent.
pub fn restart_policy(system: &SystemConfig, retry_failed_message: bool) -> RestartPolicy {
    RestartPolicy {
        max_restarts: system.max_restarts,
        window: Duration::from_secs(system.restart_window_s.into()),
        backoff_initial: Duration::from_millis(system.restart_backoff_ms.into()),
        backoff_max: Duration::from_secs(2),
        retry_failed_message,
        mailbox_capacity: system.event_queue_size as usize,
    }
}
