// A microphone's loudness as the pages show it: the RMS of the last few milliseconds, read from
// an AnalyserNode every `intervalMs`. A timer rather than requestAnimationFrame, so the meter and
// the "heard speech" verdict keep working in a background tab.

/** RMS of `samples` (a Float32Array of -1..1). */
export function rms(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / (samples.length || 1));
}

/**
 * A meter's 0..1 position for an RMS: logarithmic, -60 dBFS at 0 and 0 dBFS at 1, as a person
 * hears loudness (speech at a normal distance sits around the middle).
 */
export function meterPosition(level) {
  if (level <= 0) return 0;
  const db = 20 * Math.log10(level);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

/**
 * Watch `stream`'s loudness: `onLevel(position, level)` with the meter position (0..1) and raw
 * RMS every `intervalMs`. Returns `stop()`, which closes the audio context (not the stream).
 */
export function watchLevel(stream, onLevel, { intervalMs = 50 } = {}) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    const level = rms(samples);
    onLevel(meterPosition(level), level);
  }, intervalMs);
  return function stop() {
    clearInterval(timer);
    source.disconnect();
    context.close();
  };
}
