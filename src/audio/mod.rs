//! Audio sources and conversion to the pipeline's format: 16 kHz mono f32 in [-1, 1].

pub mod capture;
mod kept;
pub mod playback;
pub mod resample;
pub mod source;
pub mod wav;

/// The rate every stage after the source works at (VAD, wake word, Whisper).
pub const PIPELINE_RATE: u32 = 16_000;

/// 16-bit little-endian PCM of `channels` interleaved channels (a remote microphone's
/// frames) → mono samples; a trailing partial frame is left out.
pub fn pcm16_to_mono(bytes: &[u8], channels: usize) -> Vec<f32> {
    use dasp_sample::Sample;
    let interleaved: Vec<f32> = bytes
        .chunks_exact(2)
        .map(|p| i16::from_le_bytes([p[0], p[1]]).to_sample::<f32>())
        .collect();
    let channels = channels.max(1);
    let whole = interleaved.len() - interleaved.len() % channels;
    resample::downmix(&interleaved[..whole], channels)
}

/// Mono samples as 16-bit little-endian PCM (what a remote peer takes).
pub fn to_pcm16(samples: &[f32]) -> Vec<u8> {
    use dasp_sample::Sample;
    samples
        .iter()
        .flat_map(|s| s.clamp(-1.0, 1.0).to_sample::<i16>().to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{pcm16_to_mono, to_pcm16};

    #[test]
    fn pcm16_round_trips_and_stereo_is_averaged_to_mono() {
        let bytes: Vec<u8> = [16384i16, -16384, 32767, 32767]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        assert_eq!(pcm16_to_mono(&bytes, 2), vec![0.0, 32767.0 / 32768.0]);
        assert_eq!(pcm16_to_mono(&bytes, 1).len(), 4);
        // A frame cut short (3 bytes of a stereo frame) is left out.
        assert_eq!(pcm16_to_mono(&bytes[..7], 2), vec![0.0]);
        let samples = pcm16_to_mono(&bytes, 1);
        assert_eq!(to_pcm16(&samples), bytes);
        assert_eq!(to_pcm16(&[2.0, -2.0]), to_pcm16(&[1.0, -1.0]));
    }
}
