// Upload page: drag and drop or pick a file, post it to the page's own endpoint (/upload/, the
// same answer as the REST API's) with upload progress, then open the job page, where
// transcription progress streams in over a WebSocket.
import { apiUpload } from "./lib/api.js";
import { clearError, showError } from "./lib/errors.js";

const form = document.getElementById("upload-form");
const zone = document.getElementById("drop-zone");
const input = document.getElementById("audio-input");
const button = document.getElementById("upload-button");
const fileName = document.getElementById("file-name");
const progress = document.getElementById("upload-progress");
const bar = document.getElementById("upload-bar");
const statusLine = document.getElementById("upload-status");
const errorLine = document.getElementById("upload-error");
let chosen = null;

const maxBytes = Number(form.dataset.maxBytes);
// Sizes in MiB, as the server's limit and messages are (uzwhisper/lib/units.py).
const mib = (bytes) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
// This page's words for failures that come without a server message of their own.
const failed = (error) => `Upload failed (HTTP ${error.status}).`;
const UPLOAD_TEXTS = {
  http_error: failed,
  network_error: "The upload was interrupted. Check the connection and try again.",
};

function choose(file) {
  chosen = file || null;
  fileName.textContent = chosen ? `${chosen.name} · ${mib(chosen.size)}` : "";
  clearError(errorLine);
  if (chosen && maxBytes && chosen.size > maxBytes) {
    // Say so now rather than after uploading it all; the server checks again.
    fail(`The file is ${mib(chosen.size)}; the limit is ${form.dataset.maxLabel}.`);
    chosen = null;
  }
  button.disabled = !chosen;
}

function fail(error) {
  showError(errorLine, error, { texts: UPLOAD_TEXTS });
  progress.hidden = true;
  button.disabled = !chosen;
}

zone.addEventListener("click", () => input.click());
zone.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
});
input.addEventListener("change", () => choose(input.files[0]));
["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
  event.preventDefault(); zone.classList.add("over");
}));
["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!chosen) return;
  const data = new FormData();
  data.append("audio", chosen, chosen.name);
  data.append("language", form.language.value);
  if (form.beam_size.value) data.append("beam_size", form.beam_size.value);
  data.append("vad_filter", form.vad_filter.checked ? "true" : "false");
  data.append("word_timestamps", form.word_timestamps.checked ? "true" : "false");
  data.append("initial_prompt", form.initial_prompt.value);

  progress.hidden = false;
  clearError(errorLine);
  button.disabled = true;
  bar.style.width = "0%";
  statusLine.textContent = "Uploading… 0%";
  let job;
  try {
    job = await apiUpload(form.dataset.api, data, {
      csrf: form.csrfmiddlewaretoken.value,
      onProgress(loaded, total) {
        const share = Math.round((100 * loaded) / total);
        bar.style.width = `${share}%`;
        statusLine.textContent = share < 100 ? `Uploading… ${share}%` : "Checking the audio…";
      },
    });
  } catch (error) {
    fail(error);
    return;
  }
  if (!job || !job.links) { fail("Upload failed: the server sent no job back."); return; }
  statusLine.textContent = "Queued. Opening the job…";
  window.location.assign(job.links.page);
});
