//! BrainActor: the brain on its own thread, supervised. A restart rebuilds caches and
//! context from the shared, already trained model (cheap), never retraining.

use std::sync::Arc;

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::brain::{Brain, BrainModel, BrainSettings, Understanding};

/// Text to understand: a transcript or a typed/API command.
pub struct BrainRequest {
    pub text: String,
    /// Speech to text's other readings of the same audio, likeliest first: tried when
    /// `text` is not understood at all (`Brain::understand_heard`).
    pub alternatives: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BrainStageError {
    #[error("empty command")]
    Empty,
}

pub struct BrainStage {
    brain: Brain,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl BrainStage {
    pub fn new(model: Arc<BrainModel>, settings: BrainSettings) -> Self {
        Self {
            brain: Brain::new(model, settings),
            metrics: None,
        }
    }
}

impl Stage for BrainStage {
    type Input = BrainRequest;
    type Output = Understanding;
    type Error = BrainStageError;

    fn handle(&mut self, input: &Envelope<BrainRequest>) -> Result<Understanding, BrainStageError> {
        let _span =
            tracing::debug_span!("brain.parse", correlation_id = %input.correlation_id).entered();
        if input.payload.text.trim().is_empty() {
            return Err(BrainStageError::Empty);
        }
        let request = &input.payload;
        let understanding = self
            .brain
            .understand_heard(&request.text, &request.alternatives);
        if understanding.text != request.text {
            tracing::info!(correlation_id = %input.correlation_id, heard = %request.text, chosen = %understanding.text, "understood one of speech to text's alternatives");
            if let Some(metrics) = &self.metrics {
                metrics.stt_alternative_chosen();
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.brain_caches(self.brain.cache_stats());
        }
        tracing::debug!(
            correlation_id = %input.correlation_id,
            intents = ?understanding.intents.iter().map(|i| i.intent.as_str()).collect::<Vec<_>>(),
            source = ?understanding.source,
            "understood"
        );
        Ok(understanding)
    }
}

/// Starts the BrainActor. Understanding is repeatable, so a crash retries the message.
pub fn start_brain(
    model: Arc<BrainModel>,
    settings: BrainSettings,
    metrics: Arc<crate::metrics::Metrics>,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<BrainStage> {
    StageActor::build("brain", move || {
        Ok(BrainStage {
            metrics: Some(Arc::clone(&metrics)),
            ..BrainStage::new(Arc::clone(&model), settings.clone())
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: true,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
