// One take from the microphone with MediaRecorder: open the microphone, record, and on stop keep
// recording `tailMs` longer so the last word is not cut (people press Stop as they finish it).

// What the server decodes, in the order the page prefers; the first the browser can make wins.
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

/** The microphone as a MediaStream (mono; the browser's own processing off, as a corpus wants). */
export function openMicrophone() {
  return navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false },
  });
}

/** Stop every track of `stream`, which releases the microphone (and its indicator). */
export function closeStream(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

/** A file name whose suffix says what `mimeType` is, for the upload. */
export function fileNameFor(mimeType) {
  if (mimeType.includes("ogg")) return "recording.ogg";
  if (mimeType.includes("mp4")) return "recording.m4a";
  return "recording.webm";
}

/**
 * Start recording `stream`. Returns `{startedAt, stop()}`; `stop()` waits `tailMs`, stops the
 * recorder and resolves to the take as a Blob (its `type` the recorder's MIME type).
 */
export function startTake(stream, { tailMs = 250 } = {}) {
  const mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const chunks = [];
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size) chunks.push(event.data);
  });
  const finished = new Promise((resolve, reject) => {
    recorder.addEventListener("stop", () => resolve(new Blob(chunks, { type: recorder.mimeType })));
    recorder.addEventListener("error", (event) => reject(event.error || new Error("recorder error")));
  });
  recorder.start();
  let stopping = null;
  return {
    startedAt: performance.now(),
    stop() {
      // A second Stop (a double press) gets the same take.
      stopping ??= new Promise((resolve) => setTimeout(resolve, tailMs))
        .then(() => { if (recorder.state !== "inactive") recorder.stop(); })
        .then(() => finished);
      return stopping;
    },
  };
}
