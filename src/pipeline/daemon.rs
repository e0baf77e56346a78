//! `luna run`: starts the stages under supervision, serves until told to stop, then
//! shuts down in order (upstream first, the store last, flushed).

use std::future::Future;
use std::sync::Arc;

use actix::prelude::*;
use luna_actors::{Envelope, Escalation, StageAddr};
use tokio::sync::mpsc;
use tracing::{error, info};

use super::{
    restart_policy, start_brain, start_store, start_stt, BrainStage, StoreReply, StoreRequest,
    StoreStage, SttStage,
};
use crate::brain::{AppCatalog, BrainError, BrainModel, BrainSettings};
use crate::config::Config;
use crate::store::{Store, StoreError, StoreOptions};
use crate::stt::SttSettings;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Brain(#[from] BrainError),
    #[error("stage {stage} failed {restarts} times within {window_s} s and was not restarted again; last failure: {last_failure}")]
    Escalated {
        stage: &'static str,
        restarts: u32,
        window_s: u64,
        last_failure: String,
    },
    #[error("could not flush the database at shutdown: {0}")]
    Flush(String),
}

/// Receives escalations from every stage and hands them to the serving loop.
struct PipelineSupervisor {
    escalations: mpsc::UnboundedSender<Escalation>,
}

impl Actor for PipelineSupervisor {
    type Context = Context<Self>;
}

impl Handler<Escalation> for PipelineSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Escalation, _: &mut Context<Self>) {
        error!(stage = msg.stage, last_failure = %msg.last_failure, "stage escalated its failure");
        let _ = self.escalations.send(msg);
    }
}

/// The running pipeline.
pub struct Daemon {
    pub stt: StageAddr<SttStage>,
    pub brain: StageAddr<BrainStage>,
    pub store: StageAddr<StoreStage>,
    escalations: mpsc::UnboundedReceiver<Escalation>,
}

impl Daemon {
    /// Starts every stage. Must be called inside a running actix `System`.
    pub fn start(config: &Config) -> Result<Self, DaemonError> {
        let (tx, escalations) = mpsc::unbounded_channel();
        let supervisor = PipelineSupervisor { escalations: tx }.start();
        let options = StoreOptions {
            pool_size: config.store.pool_size,
            busy_timeout: std::time::Duration::from_millis(config.store.busy_timeout_ms.into()),
        };
        let path = config.store_path();
        let store = Store::open(&path, &options)?;
        info!(path = %path.display(), version = store.schema_version()?, "database open");
        let store = start_store(
            store,
            options,
            restart_policy(&config.system, true),
            supervisor.clone().recipient(),
        );
        let started = std::time::Instant::now();
        let model = Arc::new(BrainModel::from_config(
            &config.brain,
            AppCatalog::builtin(),
        )?);
        info!(
            ms = started.elapsed().as_millis() as u64,
            patterns = model.grammar.len(),
            "brain ready"
        );
        let brain = start_brain(
            model,
            BrainSettings::from(&config.brain),
            restart_policy(&config.system, true),
            supervisor.clone().recipient(),
        );
        let stt_settings = SttSettings::from_config(&config.stt);
        if !stt_settings.model_path.is_file() {
            tracing::warn!(
                path = %stt_settings.model_path.display(),
                "no speech model: spoken commands cannot be transcribed until `luna model install` is run"
            );
        }
        let stt = start_stt(
            stt_settings,
            config.stt.preload,
            restart_policy(&config.system, true),
            supervisor.recipient(),
        );
        Ok(Self {
            stt,
            brain,
            store,
            escalations,
        })
    }

    /// Serves until `shutdown` resolves (a signal) or a stage escalates, then stops
    /// every stage in order and flushes the database.
    pub async fn serve_until(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), DaemonError> {
        info!("LUNA is running; stop with Ctrl-C or SIGTERM");
        let escalated = tokio::select! {
            () = shutdown => None,
            e = self.escalations.recv() => e,
        };
        info!("shutting down");
        // Upstream first: each stage finishes what it has, then the store flushes.
        self.stt.shutdown().await;
        self.brain.shutdown().await;
        let flushed = self
            .store
            .call(Envelope::entering(StoreRequest::Checkpoint))
            .await;
        self.store.shutdown().await;
        if let Some(e) = escalated {
            return Err(DaemonError::Escalated {
                stage: e.stage,
                restarts: e.restarts_in_window,
                window_s: e.window.as_secs(),
                last_failure: e.last_failure,
            });
        }
        match flushed {
            Ok(env) if env.payload == StoreReply::Checkpointed => {
                info!("database flushed; bye");
                Ok(())
            }
            Ok(_) => Err(DaemonError::Flush("unexpected store reply".into())),
            Err(e) => Err(DaemonError::Flush(e.to_string())),
        }
    }
}
