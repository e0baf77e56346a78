//! LUNA: an offline, privacy-first voice assistant daemon.
//!
//! Stage logic lives in plain modules with no actix; the actors that wrap them live in
//! [`pipeline`]. See ARCHITECTURE.md for the code map.

pub mod atomic_file;
pub mod audio;
pub mod bench;
pub mod brain;
pub mod command;
pub mod config;
pub mod doctor;
pub mod exec;
pub mod http_client;
pub mod metrics;
pub mod model_install;
pub mod pipeline;
pub mod service;
pub mod store;
pub mod stt;
pub mod telemetry;
pub mod tts;
pub mod vad;
pub mod wake;
pub mod wyoming;
