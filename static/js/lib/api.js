// The JSON API as the pages call it: the session cookie and CSRF token of the page, and the one
// error body shape, `{"error": {"code", "message", "details"}}` (uzwhisper/errors.py), turned
// into an ApiError the page can show with errors.js.
import { messageFor } from "./errors.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export class ApiError extends Error {
  /** `status` is the HTTP status, 0 when no response came (then `code` is "network_error"). */
  constructor({ code, message, status = 0, details = {} }) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** The page's CSRF token: from a `{% csrf_token %}` field under `root`, else the cookie. */
export function csrfToken(root = document) {
  const field = root.querySelector("[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    return undefined; // not JSON: a proxy's error page, say
  }
}

/**
 * What a response with `status` and body `text` means: its JSON (null when empty) on 2xx; else
 * throws an ApiError from the error body, or with code "http_error" when there is none.
 */
export function settle(status, text) {
  const body = parse(text);
  if (status >= 200 && status < 300 && body !== undefined) return body;
  const error = body && typeof body === "object" ? body.error : null;
  if (error && (error.code || error.message)) {
    throw new ApiError({
      code: error.code || "error",
      message: error.message || messageFor(error.code),
      status,
      details: error.details || {},
    });
  }
  throw new ApiError({ code: "http_error", message: `HTTP ${status}`, status });
}

function networkError() {
  return new ApiError({ code: "network_error", message: messageFor("network_error") });
}

/**
 * Call the API at `path` on this site. `body`: FormData, Blob or string as it is; anything else
 * is sent as JSON. Unsafe methods carry the CSRF token (`csrf`, else csrfToken()). Resolves to
 * the response's JSON (null for an empty body, as on 204); rejects with an ApiError.
 */
export async function apiFetch(path, { method = "GET", body, headers = {}, csrf, signal } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...headers },
    signal,
  };
  if (!SAFE_METHODS.has(method.toUpperCase())) init.headers["X-CSRFToken"] = csrf ?? csrfToken();
  if (body instanceof FormData || body instanceof Blob || typeof body === "string") {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw networkError();
  }
  return settle(response.status, await response.text());
}

/**
 * POST `form` (FormData) to `path` like apiFetch, reporting `onProgress(loaded, total)` as the
 * body goes up: fetch cannot report upload progress, XMLHttpRequest can.
 */
export function apiUpload(path, form, { csrf, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("X-CSRFToken", csrf ?? csrfToken());
    request.setRequestHeader("Accept", "application/json");
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
    }
    request.addEventListener("load", () => {
      try {
        resolve(settle(request.status, request.responseText));
      } catch (error) {
        reject(error);
      }
    });
    request.addEventListener("error", () => reject(networkError()));
    request.send(form);
  });
}
