//! One remote microphone's hearing (a WebSocket satellite, a Wyoming satellite): its own
//! VAD and wake detector on its own stream clock, the wake gate, and speculative
//! transcription, giving what the stream's audio addressed to LUNA.

use std::sync::Arc;
use std::time::Instant;

use tracing::warn;

use super::downstream::{GatedCuts, Speculation, Speculator};
use super::{Downstream, UtteranceCut};
use crate::audio::PIPELINE_RATE;
use crate::vad::{Endpointer, VadSettings};
use crate::wake::features::FrontEndModels;
use crate::wake::gate::Admission;
use crate::wake::{WakeDetector, WakeSettings};

/// What a stream's audio gave.
pub(super) enum Heard {
    /// Speech began (reported only with `?vad=true`).
    Speech {
        start_s: f64,
    },
    Wake(crate::wake::Detection),
    Ignored {
        start_s: f64,
        end_s: f64,
    },
    Command(
        UtteranceCut,
        Option<crate::wake::Detection>,
        Option<Speculation>,
    ),
}

/// One satellite's hearing: its own VAD and wake detector on its own stream clock.
pub(super) struct StreamHearing {
    endpointer: Endpointer,
    wake: Option<(WakeDetector, GatedCuts)>,
    speculator: Speculator,
    downstream: super::Downstream,
    /// Report each utterance's start (`?vad=true`), and whether the open one was.
    vad_events: bool,
    announced: bool,
}

impl StreamHearing {
    /// `wake`: the front end and settings, when installed (needed unless `no_wake`).
    pub(super) fn new(
        downstream: &Downstream,
        vad: &VadSettings,
        wake: Option<&(Arc<FrontEndModels>, WakeSettings)>,
        no_wake: bool,
        vad_events: bool,
    ) -> Result<Self, String> {
        let wake = if no_wake {
            None
        } else {
            let (models, settings) = wake.ok_or_else(|| {
                "the wake-word models are not installed (`luna model install`); connect with ?no_wake=true to act on every utterance".to_owned()
            })?;
            let detector =
                WakeDetector::new(Arc::clone(models), settings).map_err(|e| e.to_string())?;
            Some((detector, GatedCuts::new(settings.follow_up_ms)))
        };
        Ok(Self {
            endpointer: Endpointer::new(vad.clone()),
            wake,
            speculator: Speculator::default(),
            downstream: downstream.clone(),
            vad_events,
            announced: false,
        })
    }

    /// The source heard a wake phrase itself (`phrase`; a satellite's own wake word) just
    /// now: what is said next is addressed to LUNA, as after "hey luna" said alone.
    pub(super) fn woke_elsewhere(&mut self, phrase: &str) {
        if let Some((_, gate)) = self.wake.as_mut() {
            let at = self.endpointer.position();
            gate.arm(crate::wake::Detection::heard_elsewhere(phrase, at));
        }
    }

    /// Feeds a chunk of 16 kHz mono audio (`ended`: the last); what it gave.
    pub(super) fn push(&mut self, samples: &[f32], ended: bool) -> Vec<Heard> {
        let t_now = Instant::now();
        let mut heard = Vec::new();
        if let Some((detector, gate)) = self.wake.as_mut() {
            match detector.push(samples) {
                Ok(found) => {
                    for d in found {
                        // A candidate is not a wake phrase until its transcript says so.
                        if !d.is_candidate() {
                            heard.push(Heard::Wake(d.clone()));
                        }
                        gate.detected(d);
                    }
                }
                Err(e) => warn!(error = %e, "wake-word detection failed on a stream chunk"),
            }
        }
        let mut utterances = self.endpointer.push(samples);
        if ended {
            utterances.extend(self.endpointer.finish());
        }
        let position = self.endpointer.position();
        if self.vad_events {
            // Each utterance's start once: those begun and finished within this chunk,
            // then the one still open.
            let mut announced = self.announced;
            for u in &utterances {
                if !announced {
                    heard.push(Heard::Speech {
                        start_s: u.start_s(),
                    });
                }
                announced = false;
            }
            if let Some(onset) = self.endpointer.open_onset() {
                if !announced {
                    heard.push(Heard::Speech {
                        start_s: onset as f64 / PIPELINE_RATE as f64,
                    });
                }
                announced = true;
            }
            self.announced = announced;
        }
        let cut = |u| UtteranceCut::new(u, position, t_now);
        let metrics = &self.downstream.metrics;
        if self.endpointer.take_resumed() {
            self.speculator.resumed(metrics);
        }
        let tentative = self.endpointer.take_tentative().map(cut);
        let cut_any = !utterances.is_empty();
        let cuts: Vec<_> = utterances.into_iter().map(cut).collect();
        let speculator = &mut self.speculator;
        match &mut self.wake {
            None => heard.extend(cuts.into_iter().map(|cut| {
                let speculated = speculator.take_for(&cut.utterance, metrics);
                Heard::Command(cut, None, speculated)
            })),
            Some((_, gate)) => {
                // The detector has heard up to `position` (all of it once the stream ended).
                let heard_until = if ended { u64::MAX } else { position };
                for (cut, admission) in gate.decide(cuts, heard_until) {
                    match admission {
                        Admission::Command { wake, .. } => {
                            let speculated = speculator.take_for(&cut.utterance, metrics);
                            heard.push(Heard::Command(cut, wake, speculated))
                        }
                        Admission::WakeOnly(_) => {}
                        Admission::Ignore => heard.push(Heard::Ignored {
                            start_s: cut.utterance.start_s(),
                            end_s: cut.utterance.end_s(),
                        }),
                    }
                }
            }
        }
        let gate = self.wake.as_ref().map(|(_, gate)| gate);
        speculator.after_chunk(cut_any, tentative, gate, &self.downstream);
        if ended {
            speculator.stop();
        }
        heard
    }
}
