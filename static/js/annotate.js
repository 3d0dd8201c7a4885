// Annotation editor: waveform from server peaks (the audio streams by range requests and is
// never downloaded to draw), one region per segment, per-segment text with word language tags,
// split / merge / add / delete / drag, undo and redo, autosave against a version, and a
// shortcut for every action that keeps working while typing (Esc leaves the text box).
import WaveSurfer from "../vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "../vendor/wavesurfer/regions.esm.js";
import { apiFetch, csrfToken, settle } from "./lib/api.js";
import { clearError, showError } from "./lib/errors.js";

const data = JSON.parse(document.getElementById("annotation-data").textContent);
const root = document.getElementById("editor");
const list = document.getElementById("segments");
const player = document.getElementById("player");
const saveState = document.getElementById("save-state");
const errorRegion = document.getElementById("editor-error");
const waveformState = document.getElementById("waveform-state");
const dialectSelect = document.getElementById("dialect");
const speedOut = document.getElementById("speed");
const zoomOut = document.getElementById("zoom");
const playThroughBox = document.getElementById("play-through");
const help = document.getElementById("help");
const csrf = csrfToken(root);

// The word tags, from the server (annotation.segments.WORD_LANGUAGES).
const LANGUAGES = JSON.parse(document.getElementById("word-languages").textContent);
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5];
const ZOOMS = [0, 20, 50, 100, 200, 400]; // px per second; 0 fits the whole file
const NUDGE_S = 0.1;
const AUTOSAVE_MS = 1200;
const BACKUP_KEY = `uzwhisper:annotation:${data.id}`;
const duration = data.task.peaks_duration_s || data.task.duration_s;
const MAX_REGIONS = 200;
// Recordings longer than this open zoomed in (50 px/s): a whole hour in one screen shows nothing.
const FIT_MAX_S = 600;

let nextKey = 1;
let version = data.version;
let segments = data.segments.map(withKey);
let selected = segments.length ? 0 : -1;
let speedIndex = SPEEDS.indexOf(1);
let zoomIndex = duration > FIT_MAX_S ? 2 : 0;
let visibleWindow = [0, duration];
let scrollTimer = null;
let undoStack = [];
let redoStack = [];
let lastTypingAt = 0;
let dirty = false;
let saving = null;
let saveTimer = null;
let retryDelay = 2000;
let frozen = !["in_progress", "rejected"].includes(data.status); // no more saves from this tab
let playingUntil = null;
let wavesurfer = null;
let regions = null;

function withKey(segment) {
  return { ...segment, key: nextKey++ };
}

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds % 60).toFixed(2).padStart(5, "0");
  return `${m}:${s}`;
}

function snapshot() {
  return JSON.stringify({ segments: segments.map(({ key, ...rest }) => rest), dialect: dialectSelect.value });
}

function restore(state) {
  const parsed = JSON.parse(state);
  segments = parsed.segments.map(withKey);
  dialectSelect.value = parsed.dialect;
  selected = Math.min(Math.max(selected, 0), segments.length - 1);
}

/** Record the state before a change, for undo. Typing in one segment is one step per pause. */
function remember({ typing = false } = {}) {
  const now = Date.now();
  if (typing && now - lastTypingAt < 1500) {
    lastTypingAt = now;
    return;
  }
  lastTypingAt = typing ? now : 0;
  undoStack.push(snapshot());
  if (undoStack.length > 200) undoStack.shift();
  redoStack = [];
}

function changed({ structure = false } = {}) {
  dirty = true;
  sortSegments();
  backup();
  if (structure) render();
  syncRegions();
  scheduleSave();
}

function sortSegments() {
  const current = segments[selected];
  segments.sort((a, b) => a.start - b.start || a.end - b.end);
  if (current) selected = segments.indexOf(current);
}

// --- words and their language tags ---------------------------------------------------

/** Words of `text`, keeping the tags of words that did not change; new words untagged
 * (the server tags them on save). */
function retokenise(segment) {
  const tokens = segment.text.split(/\s+/).filter(Boolean);
  const old = segment.words || [];
  segment.words = tokens.map((token, i) =>
    old[i] && old[i].text === token ? old[i] : { text: token, language: null },
  );
}

function wordIndexAtCaret(textarea) {
  const before = textarea.value.slice(0, textarea.selectionStart);
  const count = before.split(/\s+/).filter(Boolean).length;
  const inWord = before.length && !/\s$/.test(before);
  return Math.max(0, inWord ? count - 1 : count);
}

function cycleLanguage(segmentIndex, wordIndex) {
  const segment = segments[segmentIndex];
  const word = segment && segment.words[wordIndex];
  if (!word) return;
  remember();
  const at = LANGUAGES.indexOf(word.language);
  segment.words = segment.words.map((w, i) =>
    i === wordIndex ? { ...w, language: LANGUAGES[(at + 1) % LANGUAGES.length] } : w,
  );
  changed();
  renderWords(segmentIndex);
}

// --- rendering ------------------------------------------------------------------------

function render() {
  const focusedText = document.activeElement && document.activeElement.matches("textarea.seg-text");
  list.replaceChildren(...segments.map((segment, index) => segmentItem(segment, index)));
  markSelected({ focusText: focusedText });
}

function segmentItem(segment, index) {
  const item = document.createElement("li");
  item.dataset.index = index;
  item.classList.toggle("untranscribable", Boolean(segment.untranscribable));
  const times = document.createElement("div");
  times.className = "times";
  times.textContent = `${clock(segment.start)}–${clock(segment.end)}`;
  const text = document.createElement("textarea");
  text.className = "seg-text";
  text.rows = 2;
  text.value = segment.text;
  text.setAttribute("aria-label", `Segment ${index + 1} text, ${clock(segment.start)} to ${clock(segment.end)}`);
  text.placeholder = segment.untranscribable ? "speech, not transcribable" : "What is said";
  text.addEventListener("focus", () => {
    if (selected !== Number(item.dataset.index)) select(Number(item.dataset.index), { focusText: false });
  });
  text.addEventListener("input", () => {
    const i = Number(item.dataset.index);
    remember({ typing: true });
    segments[i].text = text.value;
    retokenise(segments[i]);
    renderWords(i);
    dirty = true;
    backup();
    scheduleSave();
  });
  const flags = document.createElement("div");
  flags.className = "flags";
  flags.textContent = `Speaker ${segment.speaker || "A"}${segment.untranscribable ? " · not transcribable" : ""}`;
  const words = document.createElement("div");
  words.className = "words";
  words.setAttribute("aria-label", "Word languages (click or Alt+L to change)");
  item.append(times, text, flags, words);
  fillWords(words, segment, index);
  return item;
}

function fillWords(container, segment, index) {
  container.replaceChildren(
    ...(segment.words || []).map((word, wordIndex) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.tabIndex = -1;
      chip.className = `word lang-${word.language || "none"}`;
      chip.dataset.language = word.language || "";
      chip.textContent = word.text;
      const tag = document.createElement("sup");
      tag.textContent = word.language || "…";
      chip.append(tag);
      chip.addEventListener("click", () => cycleLanguage(index, wordIndex));
      return chip;
    }),
  );
}

function renderWords(index) {
  const item = list.children[index];
  if (item) fillWords(item.querySelector(".words"), segments[index], index);
}

function textBox(index = selected) {
  const item = list.children[index];
  return item ? item.querySelector("textarea") : null;
}

function markSelected({ focusText = false } = {}) {
  for (const item of list.children) {
    item.classList.toggle("selected", Number(item.dataset.index) === selected);
  }
  const item = list.children[selected];
  if (item) {
    item.scrollIntoView({ block: "nearest" });
    if (focusText) item.querySelector("textarea").focus();
  }
  colourRegions();
}

function select(index, { focusText = null, play = false } = {}) {
  if (index < 0 || index >= segments.length) return;
  const inText = focusText ?? document.activeElement?.matches("textarea.seg-text");
  selected = index;
  markSelected({ focusText: inText });
  revealOnWaveform(segments[index]);
  if (play) playSegment(index);
}

// --- waveform and regions -------------------------------------------------------------

function regionColour(segment, index) {
  const chosen = index === selected;
  if (segment.speaker === "B") return chosen ? "rgba(15,118,110,0.35)" : "rgba(15,118,110,0.15)";
  return chosen ? "rgba(11,107,203,0.35)" : "rgba(11,107,203,0.15)";
}

/** Indexes of the segments to draw: those in (or near) the visible stretch of the waveform, at
 * most MAX_REGIONS of them, nearest the selected one first. A 2-hour file has thousands of
 * segments, and the regions plugin measures the layout once for each region it adds. */
function regionIndexes() {
  const [from, to] = visibleWindow;
  const margin = (to - from) / 2;
  let shown = [];
  segments.forEach((segment, index) => {
    if (segment.end >= from - margin && segment.start <= to + margin) shown.push(index);
  });
  if (shown.length > MAX_REGIONS) {
    shown = shown
      .sort((a, b) => Math.abs(a - selected) - Math.abs(b - selected))
      .slice(0, MAX_REGIONS);
  }
  if (selected >= 0 && !shown.includes(selected)) shown.push(selected);
  return shown;
}

function syncRegions() {
  if (!regions) return;
  regions.clearRegions();
  regionIndexes().forEach((index) => {
    const segment = segments[index];
    const region = regions.addRegion({
      id: `seg-${segment.key}`,
      start: segment.start,
      end: segment.end,
      color: regionColour(segment, index),
      drag: true,
      resize: true,
    });
    // Speaker B's regions take the lower half: overlapping speech stays visible and clickable.
    if (segment.speaker === "B" && region.element) {
      region.element.style.top = "50%";
      region.element.style.height = "50%";
    } else if (region.element) {
      region.element.style.height = segments.some((s) => s.speaker === "B") ? "50%" : "100%";
    }
  });
}

function revealOnWaveform(segment) {
  if (!wavesurfer || !segment) return;
  const [from, to] = visibleWindow;
  if (segment.start < from || segment.end > to) {
    wavesurfer.setScrollTime(Math.max(0, segment.start - (to - from) / 4));
  }
}

function colourRegions() {
  if (!regions) return;
  const chosen = segments[selected];
  if (chosen && !regions.getRegions().some((r) => r.id === `seg-${chosen.key}`)) {
    syncRegions();
    return;
  }
  for (const region of regions.getRegions()) {
    const index = segments.findIndex((s) => `seg-${s.key}` === region.id);
    if (index >= 0) region.setOptions({ color: regionColour(segments[index], index) });
  }
}

function segmentIndexOfRegion(region) {
  return segments.findIndex((s) => `seg-${s.key}` === region.id);
}

async function loadWaveform() {
  const url = data.task.links.peaks;
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok) {
      const bytes = new Int8Array(await response.arrayBuffer());
      const peaks = Float32Array.from(bytes, (v) => v / 127);
      const fileDuration = Number(response.headers.get("X-Duration")) || duration;
      performance.mark("editor:peaks");
      drawWaveform(peaks, fileDuration);
      return;
    }
    // Binary on success, so not apiFetch; an error body is read the way apiFetch reads it.
    let failure = null;
    try {
      settle(response.status, await response.text());
    } catch (error) {
      failure = error;
    }
    if (failure?.code !== "peaks_not_ready") {
      waveformState.textContent = "No waveform.";
      showError(errorRegion, failure);
      return;
    }
    waveformState.textContent = "Preparing the waveform… (you can edit and play meanwhile)";
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 10000)));
  }
}

function drawWaveform(peaks, fileDuration) {
  waveformState.remove();
  regions = RegionsPlugin.create();
  wavesurfer = WaveSurfer.create({
    container: "#waveform",
    media: player,
    peaks: [peaks],
    duration: fileDuration,
    height: 100,
    waveColor: "#9aa7b5",
    progressColor: "#4a6a8c",
    cursorColor: "#b8860b",
    minPxPerSec: ZOOMS[zoomIndex],
    plugins: [regions],
  });
  wavesurfer.on("ready", () => {
    performance.mark("editor:waveform");
    syncRegions();
    performance.mark("editor:regions");
    // Ready once the browser has laid out and painted it all, not when the script returns.
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark("editor:painted");
        root.dataset.waveform = "ready";
      }),
    );
  });
  wavesurfer.on("scroll", (start, end) => {
    visibleWindow = [start, end];
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(syncRegions, 150);
  });
  regions.on("region-updated", (region) => {
    const index = segmentIndexOfRegion(region);
    if (index < 0) return;
    remember();
    segments[index].start = Math.max(0, Number(region.start.toFixed(3)));
    segments[index].end = Math.min(fileDuration, Number(region.end.toFixed(3)));
    selected = index;
    changed({ structure: true });
  });
  regions.on("region-clicked", (region, event) => {
    event.stopPropagation();
    const index = segmentIndexOfRegion(region);
    if (index >= 0) select(index, { play: true });
  });
}

// --- playback -------------------------------------------------------------------------

function playSegment(index) {
  const segment = segments[index];
  if (!segment) return;
  player.currentTime = segment.start;
  playingUntil = segment.end;
  player.play().catch(() => {});
}

function togglePlay() {
  if (player.paused) {
    playingUntil = null;
    player.play().catch(() => {});
  } else {
    player.pause();
  }
}

player.addEventListener("timeupdate", () => {
  if (playingUntil === null || player.paused) return;
  if (player.currentTime < playingUntil) return;
  const next = selected + 1;
  if (playThroughBox.checked && next < segments.length) {
    select(next);
    playingUntil = segments[next].end;
    if (segments[next].start > player.currentTime + 0.05) player.currentTime = segments[next].start;
  } else {
    player.pause();
    playingUntil = null;
  }
});

async function reportUnplayableAudio() {
  // The element does not say why it failed; the server does (410 audio_missing when the
  // recording was deleted). Ask it, so this message and the waveform's say the same thing
  // whichever arrives last.
  let reason = "The audio of this task cannot be played in this browser.";
  try {
    const response = await fetch(player.currentSrc || player.getAttribute("src"), {
      credentials: "same-origin",
      headers: { Range: "bytes=0-0" },
    });
    if (!response.ok) settle(response.status, await response.text());
  } catch (error) {
    if (error?.code) reason = error.message; // an ApiError from the server, not a dropped connection
  }
  showError(errorRegion, { code: "audio_missing", message: `${reason} Your text edits are still saved.` });
  root.dataset.audio = "unplayable";
}

player.addEventListener("error", reportUnplayableAudio);
// The element starts loading while the page parses, before this module runs: it may have
// failed already, and then no error event comes.
if (player.error) reportUnplayableAudio();

function setSpeed(step) {
  speedIndex = Math.min(SPEEDS.length - 1, Math.max(0, speedIndex + step));
  player.playbackRate = SPEEDS[speedIndex];
  player.preservesPitch = true;
  speedOut.textContent = `${SPEEDS[speedIndex].toFixed(2)}×`;
}

function setZoom(step) {
  zoomIndex = Math.min(ZOOMS.length - 1, Math.max(0, zoomIndex + step));
  zoomOut.textContent = ZOOMS[zoomIndex] ? `${ZOOMS[zoomIndex]} px/s` : "fit";
  if (wavesurfer) {
    wavesurfer.zoom(ZOOMS[zoomIndex]);
    revealOnWaveform(segments[selected]);
  }
}

// --- editing --------------------------------------------------------------------------

function splitSelected() {
  const segment = segments[selected];
  if (!segment) return;
  const box = textBox();
  const caret = box && document.activeElement === box ? box.selectionStart : Math.floor(segment.text.length / 2);
  const t = player.currentTime;
  const at =
    t > segment.start + 0.05 && t < segment.end - 0.05
      ? t
      : segment.start + (segment.end - segment.start) * (segment.text.length ? caret / segment.text.length : 0.5);
  remember();
  const left = { ...segment, end: Number(at.toFixed(3)), text: segment.text.slice(0, caret).trim() };
  const right = withKey({ ...segment, start: Number(at.toFixed(3)), text: segment.text.slice(caret).trim() });
  retokenise(left);
  left.words = left.words.map((w, i) => segment.words?.[i]?.text === w.text ? segment.words[i] : w);
  const leftCount = left.words.length;
  right.words = right.text.split(/\s+/).filter(Boolean).map((token, i) => {
    const old = segment.words?.[leftCount + i];
    return old && old.text === token ? old : { text: token, language: null };
  });
  segments.splice(selected, 1, left, right);
  selected += 1;
  changed({ structure: true });
  const next = textBox();
  if (next) {
    next.focus();
    next.setSelectionRange(0, 0);
  }
}

function mergeWithNext() {
  const segment = segments[selected];
  const next = segments[selected + 1];
  if (!segment || !next) return;
  remember();
  const caret = segment.text.length;
  const merged = {
    ...segment,
    start: Math.min(segment.start, next.start),
    end: Math.max(segment.end, next.end),
    text: [segment.text, next.text].filter(Boolean).join(" "),
    untranscribable: segment.untranscribable && next.untranscribable,
    words: [...(segment.words || []), ...(next.words || [])],
  };
  segments.splice(selected, 2, merged);
  changed({ structure: true });
  const box = textBox();
  if (box) {
    box.focus();
    box.setSelectionRange(caret, caret);
  }
}

function addSegment() {
  const t = Math.min(player.currentTime || 0, Math.max(0, duration - 0.5));
  const later = segments.filter((s) => s.start > t && (s.speaker || "A") === "A").map((s) => s.start);
  const end = Math.min(duration, t + 2, ...later);
  if (end - t < 0.05) {
    showError(errorRegion, "No room for a new segment here: move the playhead to a gap, or add one for speaker B (Alt+W).");
    return;
  }
  remember();
  const segment = withKey({ start: Number(t.toFixed(3)), end: Number(end.toFixed(3)), text: "", speaker: "A", untranscribable: false, words: [] });
  segments.push(segment);
  sortSegments();
  selected = segments.indexOf(segment);
  changed({ structure: true });
  textBox()?.focus();
}

function deleteSelected() {
  if (selected < 0) return;
  remember();
  segments.splice(selected, 1);
  selected = Math.min(selected, segments.length - 1);
  changed({ structure: true });
}

function nudge(which, delta) {
  const segment = segments[selected];
  if (!segment) return;
  remember();
  if (which === "start") segment.start = Math.max(0, Math.min(segment.end - 0.05, segment.start + delta));
  else segment.end = Math.min(duration, Math.max(segment.start + 0.05, segment.end + delta));
  segment.start = Number(segment.start.toFixed(3));
  segment.end = Number(segment.end.toFixed(3));
  changed({ structure: true });
}

function boundaryToPlayhead(which) {
  const segment = segments[selected];
  if (!segment) return;
  const t = Number(player.currentTime.toFixed(3));
  if ((which === "start" && t >= segment.end) || (which === "end" && t <= segment.start)) {
    showError(errorRegion, "A segment must end after it starts: move the playhead first.");
    return;
  }
  remember();
  segment[which] = t;
  changed({ structure: true });
}

function toggleFlag(name) {
  const segment = segments[selected];
  if (!segment) return;
  remember();
  if (name === "speaker") segment.speaker = segment.speaker === "B" ? "A" : "B";
  else segment.untranscribable = !segment.untranscribable;
  changed({ structure: true });
}

function undo() {
  if (!undoStack.length) return;
  redoStack.push(snapshot());
  restore(undoStack.pop());
  lastTypingAt = 0;
  changed({ structure: true });
}

function redo() {
  if (!redoStack.length) return;
  undoStack.push(snapshot());
  restore(redoStack.pop());
  changed({ structure: true });
}

dialectSelect.addEventListener("change", () => {
  remember();
  changed();
});

// --- saving ---------------------------------------------------------------------------

function payload() {
  return {
    version,
    dialect: dialectSelect.value,
    // Words typed since the last save go with language null: the server's tagger tags them,
    // and keeps every tag an annotator set.
    segments: segments.map(({ key, ...rest }) => rest),
  };
}

function backup() {
  try {
    localStorage.setItem(BACKUP_KEY, JSON.stringify({ version, state: snapshot(), at: Date.now() }));
  } catch (error) {
    // Storage full or disabled: the server copy is the only one.
  }
}

function scheduleSave(delay = AUTOSAVE_MS) {
  if (frozen) return;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, delay);
}

function showState(text) {
  saveState.textContent = text;
}

/** Adopt the server's tags for words that were new when the save left. */
function adoptWords(saved, sent) {
  saved.segments.forEach((segment, i) => {
    const mine = segments[i];
    if (mine && mine.text === segment.text && sent[i] && sent[i].text === segment.text) {
      mine.words = segment.words;
      renderWords(i);
    }
  });
}

async function save() {
  if (frozen || !dirty) return null;
  if (saving) {
    scheduleSave(300);
    return saving;
  }
  const body = payload();
  const stateSent = snapshot();
  dirty = false;
  showState("Saving…");
  saving = apiFetch(data.links.draft, { method: "PUT", body, csrf })
    .then((saved) => {
      version = saved.version;
      retryDelay = 2000;
      adoptWords(saved, body.segments);
      showState(`Saved · version ${version}`);
      root.dataset.version = String(version);
      clearError(errorRegion);
      if (snapshot() === stateSent) localStorage.removeItem(BACKUP_KEY);
      else backup();
      return saved;
    })
    .catch((error) => {
      dirty = true;
      handleSaveError(error);
      return null;
    })
    .finally(() => {
      saving = null;
    });
  return saving;
}

function handleSaveError(error) {
  if (["stale_version", "lock_lost", "not_editable"].includes(error.code)) {
    frozen = true;
    showState("Not saved");
    showError(errorRegion, `${error.message} Your edits in this tab are kept in this browser and were not sent.`);
    return;
  }
  if (error.code === "invalid_segments") {
    showState("Not saved");
    showError(errorRegion, error);
    if (error.details && Number.isInteger(error.details.segment)) select(error.details.segment);
    return;
  }
  if (error.code === "not_authenticated" || error.code === "authentication_failed") {
    showState("Not saved");
    showError(errorRegion, "You are logged out. Log in again in another tab; this page keeps your edits and retries.");
  } else {
    showState("Not saved: the server could not be reached. Retrying…");
  }
  retryDelay = Math.min(retryDelay * 2, 15000);
  scheduleSave(retryDelay);
}

async function submit() {
  if (frozen) return;
  clearTimeout(saveTimer);
  if (saving) await saving;
  showState("Submitting…");
  try {
    const done = await apiFetch(data.links.submit, { method: "POST", body: payload(), csrf });
    version = done.version;
    frozen = true;
    dirty = false;
    localStorage.removeItem(BACKUP_KEY);
    showState(`Submitted · version ${version}`);
    root.dataset.status = "submitted";
    window.location.assign("/annotation/");
  } catch (error) {
    dirty = true;
    handleSaveError(error);
  }
}

async function release() {
  if (frozen) return;
  clearTimeout(saveTimer);
  if (saving) await saving;
  if (dirty) await save();
  try {
    await apiFetch(`/api/v1/annotation/annotations/${data.id}/release/`, { method: "POST", body: { version }, csrf });
    frozen = true;
    localStorage.removeItem(BACKUP_KEY);
    window.location.assign("/annotation/");
  } catch (error) {
    handleSaveError(error);
  }
}

window.addEventListener("beforeunload", (event) => {
  if (dirty && !frozen) {
    backup();
    event.preventDefault();
  }
});

// --- shortcuts ------------------------------------------------------------------------

const typingTarget = () => document.activeElement && document.activeElement.matches("textarea.seg-text");

// [keys shown, description, test(event), action]. Alt and Ctrl combinations work while typing.
const SHORTCUTS = [
  ["Alt+↓ / Alt+J", "Next segment", (e) => e.altKey && (e.code === "ArrowDown" || e.code === "KeyJ"), () => select(selected + 1)],
  ["Alt+↑ / Alt+K", "Previous segment", (e) => e.altKey && (e.code === "ArrowUp" || e.code === "KeyK"), () => select(selected - 1)],
  ["Alt+Enter", "Play the segment", (e) => e.altKey && e.code === "Enter", () => playSegment(selected)],
  ["Alt+P", "Play / pause", (e) => e.altKey && e.code === "KeyP", togglePlay],
  ["Alt+T", "Play through (on to the next segment)", (e) => e.altKey && e.code === "KeyT", () => { playThroughBox.checked = !playThroughBox.checked; }],
  ["Alt+S", "Split the segment at the caret (or the playhead)", (e) => e.altKey && e.code === "KeyS", splitSelected],
  ["Alt+M", "Merge with the next segment", (e) => e.altKey && e.code === "KeyM", mergeWithNext],
  ["Alt+N", "New segment at the playhead", (e) => e.altKey && e.code === "KeyN", addSegment],
  ["Alt+X", "Delete the segment", (e) => e.altKey && e.code === "KeyX", deleteSelected],
  ["Alt+[ / Alt+]", "Move the start 0.1 s earlier / later", (e) => e.altKey && !e.shiftKey && (e.code === "BracketLeft" || e.code === "BracketRight"), (e) => nudge("start", e.code === "BracketLeft" ? -NUDGE_S : NUDGE_S)],
  ["Alt+Shift+[ / ]", "Move the end 0.1 s earlier / later", (e) => e.altKey && e.shiftKey && (e.code === "BracketLeft" || e.code === "BracketRight"), (e) => nudge("end", e.code === "BracketLeft" ? -NUDGE_S : NUDGE_S)],
  ["Alt+B / Alt+E", "Start / end at the playhead", (e) => e.altKey && (e.code === "KeyB" || e.code === "KeyE"), (e) => boundaryToPlayhead(e.code === "KeyB" ? "start" : "end")],
  ["Alt+L", "Change the language of the word at the caret (uz → ru → other)", (e) => e.altKey && e.code === "KeyL", () => { const box = textBox(); cycleLanguage(selected, box ? wordIndexAtCaret(box) : 0); }],
  ["Alt+U", "Mark “speech, not transcribable”", (e) => e.altKey && e.code === "KeyU", () => toggleFlag("untranscribable")],
  ["Alt+W", "Speaker A / B (B may overlap A)", (e) => e.altKey && e.code === "KeyW", () => toggleFlag("speaker")],
  ["Alt+D", "Choose the dialect (Esc returns to the text)", (e) => e.altKey && e.code === "KeyD", () => dialectSelect.focus()],
  ["Alt+- / Alt+=", "Slower / faster (0.5–2.5×)", (e) => e.altKey && !e.shiftKey && (e.code === "Minus" || e.code === "Equal"), (e) => setSpeed(e.code === "Minus" ? -1 : 1)],
  ["Alt+Shift+- / =", "Zoom out / in", (e) => e.altKey && e.shiftKey && (e.code === "Minus" || e.code === "Equal"), (e) => setZoom(e.code === "Minus" ? -1 : 1)],
  ["Ctrl+Z", "Undo", (e) => e.ctrlKey && !e.shiftKey && e.code === "KeyZ", undo],
  ["Ctrl+Shift+Z / Ctrl+Y", "Redo", (e) => e.ctrlKey && ((e.shiftKey && e.code === "KeyZ") || e.code === "KeyY"), redo],
  ["Ctrl+S", "Save now", (e) => e.ctrlKey && e.code === "KeyS", () => { dirty = true; save(); }],
  ["Ctrl+Enter", "Submit for review", (e) => e.ctrlKey && e.code === "Enter", submit],
  ["Alt+/ or ?", "This help", (e) => (e.altKey && e.code === "Slash") || (!typingTarget() && e.key === "?"), () => help.showModal()],
  ["Esc", "Leave the text box (Enter returns to it)", (e) => e.key === "Escape" && typingTarget(), () => root.focus()],
  ["Esc", "From the dialect back to the text", (e) => e.key === "Escape" && document.activeElement === dialectSelect, () => textBox()?.focus()],
  ["Enter", "Back into the text box", (e) => e.key === "Enter" && !e.altKey && !e.ctrlKey && document.activeElement === root, () => textBox()?.focus()],
];

document.addEventListener(
  "keydown",
  (event) => {
    if (help.open) return; // the dialog handles its own keys (Esc closes it)
    for (const [, , test, action] of SHORTCUTS) {
      if (test(event)) {
        event.preventDefault();
        event.stopPropagation();
        action(event);
        return;
      }
    }
  },
  { capture: true },
);

function fillHelp() {
  const table = document.getElementById("help-keys");
  table.replaceChildren(
    ...SHORTCUTS.map(([keys, what]) => {
      const row = document.createElement("tr");
      const key = document.createElement("td");
      const kbd = document.createElement("kbd");
      kbd.textContent = keys;
      key.append(kbd);
      const text = document.createElement("td");
      text.textContent = what;
      row.append(key, text);
      return row;
    }),
  );
}

document.getElementById("help-button").addEventListener("click", () => help.showModal());
document.getElementById("play-button").addEventListener("click", () => playSegment(selected));
document.getElementById("submit-button").addEventListener("click", submit);
document.getElementById("release-button").addEventListener("click", release);

// --- start ----------------------------------------------------------------------------

function recoverBackup() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(BACKUP_KEY) || "null");
  } catch (error) {
    saved = null;
  }
  if (!saved || frozen) return;
  if (saved.version === version && saved.state !== snapshot()) {
    restore(saved.state);
    root.dataset.restored = "true";
    dirty = true;
    showState(`Unsaved edits from this browser restored · saving over version ${version}`);
    scheduleSave(200);
  } else if (saved.version !== version) {
    localStorage.removeItem(BACKUP_KEY);
  }
}

fillHelp();
zoomOut.textContent = ZOOMS[zoomIndex] ? `${ZOOMS[zoomIndex]} px/s` : "fit";
recoverBackup();
render();
performance.mark("editor:segments");
root.dataset.version = String(version);
root.dataset.status = data.status;
if (segments.length) textBox(0)?.focus();
if (frozen) showError(errorRegion, `This annotation is ${data.status.replace("_", " ")}: it cannot be changed here.`);
loadWaveform().catch((error) => showError(errorRegion, error));
root.dataset.ready = "true";
