// Validator page: lease a batch of other volunteers' clips, play each with its sentence, vote
// 👍 / 👎, skip, or report the sentence. Keys: Space play/pause, Y yes, N no, S skip. While a
// vote is in flight the buttons are disabled and keys ignored, so a double press votes once (the
// server refuses a second vote anyway, with `already_voted`).
import { apiFetch } from "./lib/api.js";
import { clearError, showError } from "./lib/errors.js";

const { texts: T, errors: ERRORS, api: API } = JSON.parse(
  document.getElementById("collect-data").textContent,
);
const $ = (id) => document.getElementById(id);
const root = $("validator");
const errorRegion = $("val-error");
const clipBox = $("val-clip");
const promptText = $("val-prompt");
const audio = $("val-audio");
const statusLine = $("val-status");
const report = $("val-report");
const actionButtons = [$("vote-yes"), $("vote-no"), $("val-skip"), $("report-send")];

// loading → ready → voting → ready (next clip) … → empty
let state = "loading";
let batch = [];
let current = null;
// Skipped clips stay leased to this validator until the lease runs out, so a new batch may hold
// them again: they are not offered twice on this page.
const skipped = new Set();

function setState(next, message) {
  state = next;
  root.dataset.state = state;
  actionButtons.forEach((button) => { button.disabled = state !== "ready"; });
  if (message !== undefined) statusLine.textContent = message;
}

function showServerError(error) {
  showError(errorRegion, error, { texts: ERRORS });
}

async function lease() {
  try {
    return await apiFetch(API.lease, { method: "POST", body: { limit: 5 } });
  } catch (error) {
    showServerError(error);
    return [];
  }
}

/** Show the next clip of the batch (leasing another batch when it is used up); `done` is what
 * the status line says about the last one (voted, reported). */
async function next(done = "") {
  setState("loading");
  if (batch.length === 0) batch = (await lease()).filter((clip) => !skipped.has(clip.id));
  current = batch.shift() || null;
  report.open = false;
  report.querySelectorAll("input[name=reason]").forEach((input) => { input.checked = false; });
  if (current === null) {
    clipBox.hidden = true;
    audio.removeAttribute("src");
    setState("empty", `${done} ${T.nothing_to_validate}`.trim());
    return;
  }
  promptText.textContent = current.prompt.text;
  promptText.lang = current.prompt.language === "ru" ? "ru" : "uz";
  audio.src = current.audio;
  clipBox.hidden = false;
  root.dataset.clip = current.id;
  setState("ready", done);
}

async function vote(isValid) {
  if (state !== "ready") return;
  setState("voting");
  clearError(errorRegion);
  audio.pause();
  try {
    await apiFetch(current.links.vote, { method: "POST", body: { valid: isValid } });
  } catch (error) {
    // Counted already, or decided by others meanwhile: either way this clip is done.
    if (!["already_voted", "clip_decided", "clip_not_found"].includes(error.code)) {
      showServerError(error);
      setState("ready");
      return;
    }
  }
  await next(T.voted);
}

async function skip() {
  if (state !== "ready") return;
  audio.pause();
  clearError(errorRegion);
  skipped.add(current.id);
  await next();
}

async function sendReport() {
  if (state !== "ready") return;
  const chosen = report.querySelector("input[name=reason]:checked");
  if (!chosen) {
    report.querySelector("input[name=reason]").focus();
    return;
  }
  setState("voting");
  try {
    await apiFetch(current.links.report_prompt, { method: "POST", body: { reason: chosen.value } });
  } catch (error) {
    showServerError(error);
    setState("ready");
    return;
  }
  audio.pause();
  await next(T.reported);
}

function togglePlay() {
  if (current === null) return;
  if (audio.paused) audio.play(); else audio.pause();
}

function onKey(event) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
  const target = event.target instanceof Element ? event.target : document.body;
  if (target.closest("input, select, textarea, [contenteditable]")) return;
  const key = event.key.toLowerCase();
  if (key === " ") {
    // Space on a focused button or the player is theirs.
    if (target.closest("button, summary, audio, a")) return;
    event.preventDefault();
    togglePlay();
  } else if (key === "y") {
    event.preventDefault();
    vote(true);
  } else if (key === "n") {
    event.preventDefault();
    vote(false);
  } else if (key === "s") {
    event.preventDefault();
    skip();
  }
}

$("vote-yes").addEventListener("click", () => vote(true));
$("vote-no").addEventListener("click", () => vote(false));
$("val-skip").addEventListener("click", skip);
$("report-send").addEventListener("click", sendReport);
document.addEventListener("keydown", onKey);
next();
