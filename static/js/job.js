// Job page: live progress and segments pushed over the WebSocket, click or keys to play.
import { apiFetch, csrfToken } from "./lib/api.js";
import { showError } from "./lib/errors.js";
import { openSocket } from "./lib/socket.js";

const root = document.getElementById("job");
const list = document.getElementById("segments");
const player = document.getElementById("player");
const statusEl = document.getElementById("job-status");
const bar = document.getElementById("job-bar");
const progressLine = document.getElementById("job-progress");
const errorLine = document.getElementById("job-error");
const downloads = document.getElementById("downloads");
const cancelButton = document.getElementById("cancel-button");
const csrf = csrfToken(root);
const finished = new Set(["done", "failed", "cancelled"]);
// Close codes after which reconnecting cannot help (transcription/consumers.py).
const NOT_AUTHENTICATED = 4401;
const NOT_FOUND = 4404;
let lastStatus = null;

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds % 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function addSegment(segment) {
  if (list.querySelector(`[data-index="${segment.index}"]`)) return;
  const item = document.createElement("li");
  item.dataset.index = segment.index;
  item.dataset.start = segment.start;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "segment";
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = `${clock(segment.start)}–${clock(segment.end)}`;
  const text = document.createElement("span");
  text.className = "text";
  if (segment.untranscribed) {
    // Speech the model could not write: shown as a gap with its times, not hidden.
    item.classList.add("untranscribed");
    text.textContent = "Speech, not transcribed";
    text.title = "The model could not transcribe this stretch; an annotator can.";
  } else if (segment.words && segment.words.length) {
    // Each word coloured by its language; a bar marks where the language switches.
    let previous = null;
    segment.words.forEach((word) => {
      if (previous && word.language !== "other" && previous !== word.language) {
        const mark = document.createElement("span");
        mark.className = "switch-mark";
        mark.textContent = " |";
        text.append(mark);
      }
      const span = document.createElement("span");
      span.className = `word lang-${word.language || "other"}`;
      span.textContent = word.text;
      span.title = word.language || "";
      text.append(span);
      if (word.language === "uz" || word.language === "ru") previous = word.language;
    });
  } else {
    text.textContent = segment.text;
  }
  const language = document.createElement("span");
  language.className = "lang";
  language.textContent = segment.language || "";
  button.append(time, language, text);
  button.addEventListener("click", () => playFrom(segment.start));
  item.append(button);
  list.append(item);
}

function playFrom(seconds) {
  player.currentTime = seconds;
  player.play().catch(() => {});
}

function showStatus(status) {
  lastStatus = status.status;
  statusEl.textContent = status.status;
  statusEl.className = `status status-${status.status}`;
  const share = status.status === "done" ? 100 : Math.round(100 * (status.progress || 0));
  bar.style.width = `${share}%`;
  progressLine.textContent = status.status === "running" ? `Transcribing… ${share}%`
    : status.status === "queued" ? "Waiting for a worker…" : "";
  if (status.language) {
    const p = status.language_probability;
    document.getElementById("job-language").textContent =
      p != null ? `${status.language} (p = ${p.toFixed(2)})` : status.language;
  }
  if (status.model_id) document.getElementById("job-model").textContent = status.model_id;
  if (status.code_mixing_index != null) {
    document.getElementById("job-cmi").textContent = status.code_mixing_index;
    const count = (status.switch_points || []).length;
    document.getElementById("job-switches").textContent = count ? `(${count} in this transcript)` : "";
  }
  if (status.real_time_factor != null) {
    document.getElementById("job-rtf").textContent = status.real_time_factor;
  }
  if (status.error) showError(errorLine, status.error, { withCode: true });
  downloads.hidden = status.status !== "done";
  cancelButton.hidden = finished.has(status.status);
}

function onMessage(message, connection) {
  if (message.type === "job.snapshot") {
    message.segments.forEach(addSegment);
    showStatus(message);
  } else if (message.type === "job.segment") {
    addSegment(message);
    if (lastStatus) showStatus({ status: lastStatus, progress: message.progress });
  } else if (message.type === "job.status") {
    showStatus(message);
  }
  if (finished.has(lastStatus)) connection.close(1000);
}

async function act(url, method) {
  try {
    await apiFetch(url, { method, csrf });
    return true;
  } catch (error) {
    showError(errorLine, error);
    return false;
  }
}

cancelButton.addEventListener("click", () => act(root.dataset.cancel, "POST"));
document.getElementById("delete-button").addEventListener("click", async () => {
  if (!window.confirm("Delete this job, its transcript and its audio?")) return;
  if (await act(root.dataset.delete, "DELETE")) window.location.assign(root.dataset.list);
});

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, select, textarea")) return;
  const buttons = Array.from(list.querySelectorAll("button.segment"));
  const current = buttons.indexOf(document.activeElement);
  if (event.key === "j" || event.key === "k") {
    const next = event.key === "j" ? Math.min(current + 1, buttons.length - 1) : Math.max(current - 1, 0);
    if (buttons[next]) buttons[next].focus();
  } else if (event.key === " " && !event.target.matches("button")) {
    event.preventDefault();
    if (player.paused) player.play().catch(() => {}); else player.pause();
  }
});

player.addEventListener("timeupdate", () => {
  list.querySelectorAll("li").forEach((item) => {
    const start = parseFloat(item.dataset.start);
    const next = item.nextElementSibling ? parseFloat(item.nextElementSibling.dataset.start) : Infinity;
    item.classList.toggle("playing", player.currentTime >= start && player.currentTime < next);
  });
});

openSocket(root.dataset.ws, {
  onMessage,
  reconnect: {
    when: (event) => !finished.has(lastStatus)
      && event.code !== NOT_FOUND && event.code !== NOT_AUTHENTICATED,
    onRetry: () => { progressLine.textContent = "Connection lost; reconnecting…"; },
  },
});
