// Recorder page: consent and profile, a microphone test with a level meter, then per prompt:
// record (MediaRecorder, 0.25 s more after Stop), listen back, submit, wait for the automatic
// checks' verdict (polling the clip), confirm or record again. Every action is a button and a
// key: R record/stop, P play, Enter submit/confirm, Backspace record again.
import { apiFetch, apiUpload } from "./lib/api.js";
import { clearError, showError } from "./lib/errors.js";
import { watchLevel } from "./lib/level.js";
import { closeStream, fileNameFor, openMicrophone, startTake } from "./lib/recorder.js";

const { texts: T, errors: ERRORS, api: API } = JSON.parse(
  document.getElementById("collect-data").textContent,
);
const $ = (id) => document.getElementById(id);
const root = $("recorder");
const errorRegion = $("rec-error");
const profileForm = $("profile-form");
const micTest = $("mic-test");
const micLevel = $("mic-level");
const micStatus = $("mic-status");
const studio = $("studio");
const promptText = $("prompt-text");
const recLevel = $("rec-level");
const playback = $("playback");
const statusLine = $("rec-status");
const verdict = $("verdict");
const buttons = {
  record: $("record-button"),
  play: $("play-button"),
  submit: $("submit-button"),
  confirm: $("confirm-button"),
  rerecord: $("rerecord-button"),
  nextPrompt: $("next-prompt-button"),
};

// A level above this RMS (about -40 dBFS) counts as hearing the microphone.
const HEARD_LEVEL = 0.01;
const POLL_FIRST_MS = 500;
const POLL_MAX_MS = 3000;

// idle → recording → finishing → recorded → uploading → checking → passed | refused
//   → confirming → idle (next prompt). Each action checks the state first and moves it on at
// once, so a double press (or a key held down) does nothing twice.
let state = "idle";
let prompts = [];
let prompt = null;
let take = null;       // the MediaRecorder take while recording
let stream = null;     // the microphone while recording
let stopMeter = null;
let recording = null;  // {blob, url} once recorded
let clip = null;       // the server's clip once submitted
let elapsedTimer = null;

function showServerError(error) {
  showError(errorRegion, error, { texts: ERRORS });
}

function setState(next, message = "") {
  state = next;
  buttons.record.textContent = state === "recording" ? T.stop : T.record;
  buttons.record.disabled = !["idle", "recording", "recorded", "refused"].includes(state)
    || prompt === null;
  buttons.play.disabled = recording === null || ["recording", "finishing"].includes(state);
  buttons.submit.disabled = state !== "recorded";
  buttons.submit.hidden = ["passed", "confirming"].includes(state);
  buttons.confirm.hidden = !["passed", "confirming"].includes(state);
  buttons.confirm.disabled = state !== "passed";
  buttons.rerecord.disabled = !["recorded", "passed", "refused"].includes(state);
  buttons.nextPrompt.disabled = !["idle", "recorded", "refused"].includes(state);
  root.dataset.state = state;
  if (message) statusLine.textContent = message;
}

// --- consent and profile ---

async function saveProfile(event) {
  event.preventDefault();
  clearError(errorRegion);
  const form = new FormData(profileForm);
  if (!form.get("consent")) {
    showError(errorRegion, T.consent_needed);
    return;
  }
  const body = Object.fromEntries(form.entries());
  body.consent = true;
  try {
    await apiFetch(API.profile, { method: "PATCH", body });
  } catch (error) {
    showServerError(error);
    return;
  }
  profileForm.hidden = true;
  showMicTest();
}

// --- microphone test ---

let micStream = null;
let stopMicMeter = null;

function showMicTest() {
  micTest.hidden = false;
  $("mic-start").focus();
}

async function startMicTest() {
  clearError(errorRegion);
  try {
    micStream = await openMicrophone();
  } catch (error) {
    showError(errorRegion, `${T.mic_denied} (${error.name})`);
    return;
  }
  $("mic-start").disabled = true;
  let heard = false;
  const started = performance.now();
  stopMicMeter = watchLevel(micStream, (position, level) => {
    micLevel.value = position;
    if (!heard && level > HEARD_LEVEL) {
      heard = true;
      micStatus.textContent = T.mic_ok;
      $("mic-done").disabled = false;
      $("mic-done").focus();
    } else if (!heard && performance.now() - started > 5000) {
      micStatus.textContent = T.mic_quiet;
    }
  });
}

function finishMicTest() {
  if (stopMicMeter) stopMicMeter();
  closeStream(micStream);
  micStream = null;
  micTest.hidden = true;
  studio.hidden = false;
  nextPrompt();
}

// --- prompts ---

async function nextPrompt() {
  resetTake();
  if (prompts.length === 0) {
    try {
      prompts = await apiFetch(`${API.prompts}?limit=5`);
    } catch (error) {
      showServerError(error);
      return;
    }
  }
  prompt = prompts.shift() || null;
  if (prompt === null) {
    promptText.textContent = "";
    setState("idle", T.no_prompts);
    return;
  }
  promptText.textContent = prompt.text;
  promptText.lang = prompt.language === "ru" ? "ru" : "uz";
  setState("idle", "");
}

function resetTake() {
  if (recording) URL.revokeObjectURL(recording.url);
  recording = null;
  clip = null;
  playback.hidden = true;
  playback.removeAttribute("src");
  verdict.hidden = true;
  $("rec-elapsed").textContent = "";
  $("rec-elapsed").dataset.seconds = "0";
  clearError(errorRegion);
}

// --- recording ---

async function startRecording() {
  if (!["idle", "recorded", "refused"].includes(state) || prompt === null) return;
  if (state !== "idle") await discardSubmitted();
  resetTake();
  setState("finishing", T.loading);  // until the microphone is open: no second start
  try {
    stream = await openMicrophone();
  } catch (error) {
    showError(errorRegion, `${T.mic_denied} (${error.name})`);
    setState("idle");
    return;
  }
  stopMeter = watchLevel(stream, (position) => { recLevel.value = position; });
  take = startTake(stream, { tailMs: 250 });
  setState("recording", T.recording);
  const elapsed = $("rec-elapsed");
  elapsedTimer = setInterval(() => {
    const seconds = (performance.now() - take.startedAt) / 1000;
    elapsed.dataset.seconds = seconds.toFixed(1);
    elapsed.textContent = `${seconds.toFixed(1)} s`;
  }, 100);
}

async function stopRecording() {
  if (state !== "recording") return;
  setState("finishing", T.finishing);
  clearInterval(elapsedTimer);
  let blob;
  try {
    blob = await take.stop();
  } finally {
    if (stopMeter) stopMeter();
    closeStream(stream);
    stream = null;
    take = null;
    recLevel.value = 0;
  }
  recording = { blob, url: URL.createObjectURL(blob) };
  playback.src = recording.url;
  playback.hidden = false;
  setState("recorded", T.recorded);
}

function togglePlayback() {
  if (recording === null || ["recording", "finishing"].includes(state)) return;
  if (playback.paused) playback.play(); else playback.pause();
}

// --- submit, checks, confirm ---

async function submit() {
  if (state !== "recorded") return;
  setState("uploading", T.uploading);
  clearError(errorRegion);
  const form = new FormData();
  form.append("prompt", String(prompt.id));
  form.append("audio", recording.blob, fileNameFor(recording.blob.type));
  try {
    clip = await apiUpload(API.clips, form);
  } catch (error) {
    // The signal checks refuse at once, storing nothing: record again.
    showServerError(error);
    // The same take may go again after a network failure, a server error or a rate limit.
    const retry = error.status >= 500 || ["network_error", "rate_limited"].includes(error.code);
    setState(retry ? "recorded" : "refused", retry ? "" : T.refused);
    return;
  }
  setState("checking", T.checking);
  await pollVerdict();
}

async function pollVerdict() {
  let delay = POLL_FIRST_MS;
  while (clip && clip.status === "checking") {
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, POLL_MAX_MS);
    try {
      clip = await apiFetch(clip.links.self);
    } catch (error) {
      if (error.code !== "network_error") {
        showServerError(error);
        setState("refused", T.refused);
        return;
      }
    }
  }
  if (!clip) return;
  verdict.hidden = false;
  $("verdict-duration").textContent = `${clip.duration_s.toFixed(1)} s`;
  if (clip.status === "refused") {
    showServerError(clip.refusal || { code: "refused", message: T.refused });
    setState("refused", T.refused);
  } else {
    setState("passed", T.passed);
    buttons.confirm.focus();
  }
}

async function confirm() {
  if (state !== "passed") return;
  setState("confirming", T.uploading);
  try {
    await apiFetch(clip.links.confirm, { method: "POST" });
  } catch (error) {
    showServerError(error);
    setState("passed");
    return;
  }
  clip = null;
  await nextPrompt();
  statusLine.textContent = T.confirmed;
}

/** Record again: a submitted clip not yet confirmed is deleted on the server first. */
async function discardSubmitted() {
  if (clip && ["checking", "unconfirmed", "refused"].includes(clip.status)) {
    try {
      await apiFetch(clip.links.discard, { method: "POST" });
    } catch (error) {
      if (error.code !== "clip_not_found") showServerError(error);
    }
  }
  clip = null;
}

async function rerecord() {
  if (!["recorded", "passed", "refused"].includes(state)) return;
  setState("finishing", "");
  await discardSubmitted();
  resetTake();
  setState("idle", "");
  buttons.record.focus();
}

// --- keys ---

function onKey(event) {
  if (studio.hidden || event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target instanceof Element ? event.target : document.body;
  if (target.closest("input, select, textarea, [contenteditable]")) return;
  // On a focused control Enter and Space are that control's; do not act twice.
  const onControl = target.closest("button, a, audio, summary");
  const key = event.key;
  if (key === "r" || key === "R") {
    event.preventDefault();
    if (state === "recording") stopRecording(); else startRecording();
  } else if (key === "p" || key === "P") {
    event.preventDefault();
    togglePlayback();
  } else if (key === "Enter" && !onControl) {
    event.preventDefault();
    if (state === "recorded") submit(); else if (state === "passed") confirm();
  } else if (key === "Backspace") {
    event.preventDefault();
    rerecord();
  }
}

profileForm.addEventListener("submit", saveProfile);
$("mic-start").addEventListener("click", startMicTest);
$("mic-done").addEventListener("click", finishMicTest);
buttons.record.addEventListener("click", () => {
  if (state === "recording") stopRecording(); else startRecording();
});
buttons.play.addEventListener("click", togglePlayback);
buttons.submit.addEventListener("click", submit);
buttons.confirm.addEventListener("click", confirm);
buttons.rerecord.addEventListener("click", rerecord);
buttons.nextPrompt.addEventListener("click", async () => {
  if (!["idle", "recorded", "refused"].includes(state)) return;
  await discardSubmitted();
  nextPrompt();
});
document.addEventListener("keydown", onKey);
window.addEventListener("beforeunload", () => { closeStream(stream); closeStream(micStream); });

setState("idle");
if (root.dataset.needsProfile === "true") {
  profileForm.querySelector("select").focus();
} else {
  showMicTest();
}
