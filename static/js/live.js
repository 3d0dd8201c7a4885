// Live page: microphone (AudioWorklet → 16 kHz PCM16) or a file paced in real time, streamed over
// the /ws/stream/ WebSocket; committed text in black, the unstable tail in grey.
import { clearError, errorText, showError } from "./lib/errors.js";
import { openSocket } from "./lib/socket.js";

const root = document.getElementById("live");
// The server's one sample rate (uzwhisper.asr.languages), rendered into the page.
const SAMPLE_RATE = Number(root.dataset.sampleRate);
const recordButton = document.getElementById("record-button");
const stopButton = document.getElementById("stop-button");
const fileInput = document.getElementById("file-input");
const speedSelect = document.getElementById("file-speed");
const statusLine = document.getElementById("live-status");
const errorLine = document.getElementById("live-error");
const committedEl = document.getElementById("live-committed");
const partialEl = document.getElementById("live-partial");
const saved = document.getElementById("live-saved");
let connection = null; // the stream's socket (lib/socket.js) while one is open
let audio = null;      // {context, stream, node} while the microphone is open
let pacer = null;      // interval id while a file streams
let lastLanguage = "";

function setBusy(active) {
  recordButton.disabled = active;
  fileInput.disabled = active;
  stopButton.disabled = !active;
}

function reset() {
  committedEl.textContent = "";
  partialEl.textContent = "";
  clearError(errorLine);
  saved.hidden = true;
  lastLanguage = "";
}

function addCommitted(message) {
  if (message.language && message.language !== lastLanguage) {
    const badge = document.createElement("span");
    badge.className = "lang";
    badge.textContent = message.language;
    committedEl.append(badge);
    lastLanguage = message.language;
  }
  const piece = document.createElement("span");
  piece.className = "committed";
  piece.dataset.start = message.start;
  if (message.untranscribed) {
    // Speech the model could not write: shown as a gap, saved with the session for annotators.
    piece.classList.add("untranscribed");
    piece.textContent = "[speech, not transcribed] ";
  } else {
    piece.textContent = `${message.text} `;
  }
  committedEl.append(piece);
}

function open(onReady) {
  connection = openSocket(root.dataset.ws, {
    binaryType: "arraybuffer",
    onOpen(stream) {
      statusLine.textContent = "Waiting for a free transcription slot (or for the model to load)…";
      stream.sendJson({
        type: "start",
        language: document.getElementById("live-language").value,
        initial_prompt: document.getElementById("live-prompt").value,
        sample_rate: SAMPLE_RATE,
        format: "pcm16",
      });
    },
    onMessage(message) {
      if (message.type === "ready") {
        statusLine.textContent = "Listening…";
        onReady();
      } else if (message.type === "partial") {
        partialEl.textContent = message.text;
        statusLine.textContent = message.behind_s > 1.5
          ? `Transcribing, ${message.behind_s.toFixed(1)} s behind…` : "Listening…";
      } else if (message.type === "final") {
        addCommitted(message);
      } else if (message.type === "error") {
        const retry = message.retry_after_s ? ` Try again in ${message.retry_after_s} s.` : "";
        showError(errorLine, `${errorText(message)}${retry}`);
      } else if (message.type === "done") {
        partialEl.textContent = "";
        statusLine.textContent = `Done: ${message.duration_s.toFixed(1)} s of audio.`;
        if (message.job) {
          document.getElementById("live-job-link").href = `${root.dataset.jobs}${message.job}/`;
          saved.hidden = false;
        }
      }
    },
    onClose() {
      stopSources();
      setBusy(false);
      connection = null;
    },
  });
}

function send(buffer) {
  if (connection) connection.send(buffer);
}

function stopSources() {
  if (pacer) { clearInterval(pacer); pacer = null; }
  if (audio) {
    audio.stream.getTracks().forEach((track) => track.stop());
    audio.context.close();
    audio = null;
  }
}

function stop() {
  stopSources();
  if (connection && connection.sendJson({ type: "stop" })) {
    statusLine.textContent = "Finishing…";
    stopButton.disabled = true;
  }
}

async function record() {
  reset();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
  } catch (error) {
    showError(errorLine, `The microphone is not available: ${error.message}`);
    return;
  }
  setBusy(true);
  open(async () => {
    // Ask for 16 kHz; the worklet resamples if the browser keeps its own rate.
    const context = new AudioContext({ sampleRate: SAMPLE_RATE });
    await context.audioWorklet.addModule(root.dataset.worklet);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-framer", {
      processorOptions: { targetRate: SAMPLE_RATE },
    });
    node.port.onmessage = (event) => send(event.data);
    source.connect(node);
    audio = { context, stream, node };
  });
}

async function streamFile(file) {
  reset();
  setBusy(true);
  statusLine.textContent = "Decoding the file…";
  let samples;
  try {
    const decoded = await new AudioContext().decodeAudioData(await file.arrayBuffer());
    const offline = new OfflineAudioContext(1, Math.ceil(decoded.duration * SAMPLE_RATE), SAMPLE_RATE);
    const source = offline.createBufferSource();
    source.buffer = decoded;
    source.connect(offline.destination);
    source.start();
    samples = (await offline.startRendering()).getChannelData(0);
  } catch (error) {
    showError(errorLine, `This file could not be decoded in the browser: ${error.message || error}`);
    setBusy(false);
    return;
  }
  const speed = Number(speedSelect.value);
  open(() => {
    let offset = 0;
    pacer = setInterval(() => {
      if (offset >= samples.length) { stop(); return; }
      const chunk = samples.subarray(offset, offset + SAMPLE_RATE / 10); // 100 ms
      offset += SAMPLE_RATE / 10;
      const pcm = new Int16Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const v = Math.max(-1, Math.min(1, chunk[i]));
        pcm[i] = v < 0 ? v * 0x8000 : v * 0x7fff;
      }
      send(pcm.buffer);
    }, 100 / speed);
  });
}

recordButton.addEventListener("click", record);
stopButton.addEventListener("click", stop);
fileInput.addEventListener("change", () => { if (fileInput.files[0]) streamFile(fileInput.files[0]); });
window.addEventListener("beforeunload", stop);
