// LUNA's microphone worklet: the input's first channel, low-passed and resampled to
// 16 kHz, as 16-bit samples posted in 40 ms chunks, with the chunk's peak level.
const OUT_RATE = 16000;
const CHUNK = 640;
const TAPS = 32;

class LunaMicrophone extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE;
    // A windowed-sinc low-pass just under the new Nyquist frequency (none needed at 16 kHz).
    const cutoff = Math.min(0.5, 0.45 / this.step);
    this.kernel = new Float32Array(TAPS);
    let sum = 0;
    for (let i = 0; i < TAPS; i++) {
      const t = i - (TAPS - 1) / 2;
      const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
      const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
      this.kernel[i] = sinc * window;
      sum += this.kernel[i];
    }
    for (let i = 0; i < TAPS; i++) this.kernel[i] /= sum;
    this.history = new Float32Array(TAPS);
    this.filtered = [];
    this.position = 0; // where the next output sample falls, in filtered input samples
    this.out = new Int16Array(CHUNK);
    this.used = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.history.copyWithin(0, 1);
      this.history[TAPS - 1] = channel[i];
      let y = 0;
      for (let k = 0; k < TAPS; k++) y += this.history[k] * this.kernel[k];
      this.filtered.push(y);
    }
    // Linear interpolation between filtered samples at the output rate.
    while (this.position + 1 < this.filtered.length) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      const v = this.filtered[i] * (1 - frac) + this.filtered[i + 1] * frac;
      const s = Math.max(-1, Math.min(1, v));
      this.peak = Math.max(this.peak, Math.abs(s));
      this.out[this.used++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.used === CHUNK) {
        this.port.postMessage({ samples: this.out.buffer, peak: this.peak }, [this.out.buffer]);
        this.out = new Int16Array(CHUNK);
        this.used = 0;
        this.peak = 0;
      }
      this.position += this.step;
    }
    const drop = Math.floor(this.position);
    this.filtered.splice(0, drop);
    this.position -= drop;
    return true;
  }
}

registerProcessor("luna-microphone", LunaMicrophone);
