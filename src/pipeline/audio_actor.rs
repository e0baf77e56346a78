//! AudioActor and VadActor: the front of the pipeline.
//!
//! AudioActor owns the source (a cpal stream is not `Send`, so the source is opened on
//! the actor's thread by its factory). A pump task ticks it every 20 ms; whatever
//! audio arrived goes to the VadActor, whose utterances go on downstream. A restart
//! reopens a device; a file or stdin goes on where it was.

use std::time::Instant;

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::audio::source::{Flow, InputSpec, Source, SourceError, SourceOpener};
use crate::vad::{Endpointer, Utterance, VadSettings};

/// Ask the source for what it has.
pub struct Tick;

/// Audio that arrived since the last tick.
pub struct AudioFrames {
    pub samples: Vec<f32>,
    /// When the last of these samples was read from the source.
    pub t_read: Instant,
    pub ended: bool,
    /// Samples the source has dropped since it was opened (it fell behind).
    pub dropped: u64,
    /// Stream position of `samples[0]`, set by the pump (the source cannot know it):
    /// a restarted VAD takes up the stream's clock from it.
    pub first_sample: u64,
}

pub struct AudioStage {
    source: Source,
}

impl Stage for AudioStage {
    type Input = Tick;
    type Output = AudioFrames;
    type Error = SourceError;

    fn handle(&mut self, _: &Envelope<Tick>) -> Result<AudioFrames, SourceError> {
        let mut samples = Vec::new();
        let flow = self.source.read(&mut samples);
        Ok(AudioFrames {
            samples,
            t_read: Instant::now(),
            ended: flow == Flow::Ended,
            dropped: self.source.dropped(),
            first_sample: 0,
        })
    }
}

pub fn start_audio(
    spec: InputSpec,
    paced: bool,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<AudioStage> {
    let mut opener = SourceOpener::new(spec, paced);
    StageActor::build("audio", move || {
        Ok(AudioStage {
            source: opener.open()?,
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}

/// An utterance cut by the VAD, with the instant its speech ended (for latency).
pub struct UtteranceCut {
    pub utterance: Utterance,
    /// Estimated instant the last speech sample was captured.
    pub t_speech_end: Instant,
}

impl UtteranceCut {
    /// `utterance`, cut when the stream was at `position`, its newest sample read at
    /// `t_read`: speech ended earlier by the distance between the two positions.
    pub fn new(utterance: Utterance, position: u64, t_read: Instant) -> Self {
        let behind = position.saturating_sub(utterance.end_sample) as f64
            / f64::from(crate::audio::PIPELINE_RATE);
        Self {
            utterance,
            t_speech_end: t_read - std::time::Duration::from_secs_f64(behind),
        }
    }
}

/// What the VAD made of a chunk of audio.
pub struct VadCuts {
    pub cuts: Vec<UtteranceCut>,
    /// The utterance so far, its speech having paused for `[vad] speculate_ms`: it may be
    /// transcribed while the hangover runs.
    pub tentative: Option<UtteranceCut>,
    /// Speech went on after the last tentative utterance.
    pub resumed: bool,
}

pub struct VadStage {
    endpointer: Endpointer,
}

#[derive(Debug, thiserror::Error)]
pub enum VadError {}

impl Stage for VadStage {
    type Input = AudioFrames;
    type Output = VadCuts;
    type Error = VadError;

    fn handle(&mut self, input: &Envelope<AudioFrames>) -> Result<VadCuts, VadError> {
        let frames = &input.payload;
        self.endpointer.set_origin(frames.first_sample);
        let mut cuts = self.endpointer.push(&frames.samples);
        if frames.ended {
            cuts.extend(self.endpointer.finish());
        }
        let position = self.endpointer.position();
        let cut = |u| UtteranceCut::new(u, position, frames.t_read);
        Ok(VadCuts {
            cuts: cuts.into_iter().map(cut).collect(),
            tentative: self.endpointer.take_tentative().map(cut),
            resumed: self.endpointer.take_resumed(),
        })
    }
}

pub fn start_vad(
    settings: VadSettings,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<VadStage> {
    StageActor::build("vad", move || {
        Ok(VadStage {
            endpointer: Endpointer::new(settings.clone()),
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
