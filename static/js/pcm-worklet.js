// AudioWorklet: mono Float32 at the context's rate in, 16 kHz PCM16 frames of 100 ms out.
class PcmFramer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    // The server's rate, from the page; `sampleRate` is the worklet scope's global.
    this.targetRate = options.processorOptions.targetRate;
    this.ratio = sampleRate / this.targetRate;
    this.position = 0;               // fractional read position into the incoming stream
    this.previous = 0;
    this.frame = new Int16Array(this.targetRate / 10);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const input = channels[0];
    // Linear interpolation resampler (a no-op copy when the context already runs at 16 kHz).
    while (this.position < input.length) {
      const index = Math.floor(this.position);
      const fraction = this.position - index;
      const before = index === 0 ? this.previous : input[index - 1];
      const value = before + (input[index] - before) * fraction;
      const clamped = Math.max(-1, Math.min(1, value));
      this.frame[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
      if (this.filled === this.frame.length) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(this.targetRate / 10);
        this.filled = 0;
      }
      this.position += this.ratio;
    }
    this.position -= input.length;
    this.previous = input[input.length - 1];
    return true;
  }
}

registerProcessor("pcm-framer", PcmFramer);
