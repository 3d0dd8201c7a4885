// Upload page: drag and drop or pick a file, send it to the REST API with upload progress,
// then open the job page, where transcription progress streams in over a WebSocket.
(function () {
  "use strict";
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

  function choose(file) {
    chosen = file || null;
    fileName.textContent = chosen ? `${chosen.name} · ${mib(chosen.size)}` : "";
    errorLine.hidden = true;
    if (chosen && maxBytes && chosen.size > maxBytes) {
      // Say so now rather than after uploading it all; the server checks again.
      showError(`The file is ${mib(chosen.size)}; the limit is ${form.dataset.maxLabel}.`);
      chosen = null;
    }
    button.disabled = !chosen;
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = false;
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!chosen) return;
    const data = new FormData();
    data.append("audio", chosen, chosen.name);
    data.append("language", form.language.value);
    if (form.beam_size.value) data.append("beam_size", form.beam_size.value);
    data.append("vad_filter", form.vad_filter.checked ? "true" : "false");
    data.append("word_timestamps", form.word_timestamps.checked ? "true" : "false");
    data.append("initial_prompt", form.initial_prompt.value);

    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.api);
    request.setRequestHeader("X-CSRFToken", form.csrfmiddlewaretoken.value);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const share = Math.round((100 * e.loaded) / e.total);
      bar.style.width = `${share}%`;
      statusLine.textContent = share < 100 ? `Uploading… ${share}%` : "Checking the audio…";
    });
    request.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (e) { body = null; }
      if (request.status === 201 && body) {
        statusLine.textContent = "Queued. Opening the job…";
        window.location.assign(body.links.page);
      } else if (body && body.error) {
        showError(body.error.message);
      } else {
        showError(`Upload failed (HTTP ${request.status}).`);
      }
    });
    request.addEventListener("error", () => showError("The upload was interrupted. Check the connection and try again."));
    progress.hidden = false;
    errorLine.hidden = true;
    button.disabled = true;
    bar.style.width = "0%";
    statusLine.textContent = "Uploading… 0%";
    request.send(data);
  });
})();
