// Errors as the pages show them: one region per page (a `role="alert"` element), one readable text
// per error code. An error is anything with `code` and `message`: an ApiError from api.js, a job's
// `error` from its WebSocket, or a live stream's `{"type": "error", ...}` message.

// For codes whose error arrives without a message of its own (or a client-side one, where the
// server never answered). A server's message, when there is one, is more specific and wins.
const READABLE = {
  network_error: "The server could not be reached. Check the connection and try again.",
  not_authenticated: "You are logged out. Log in again and retry.",
  authentication_failed: "You are logged out. Log in again and retry.",
  permission_denied: "You may not do that.",
  not_found: "Not found.",
  job_not_found: "No such job.",
  throttled: "Too many requests. Wait a moment and try again.",
  invalid_input: "Some of the input is not valid.",
  internal_error: "Something went wrong on the server.",
};

/** Readable text for `code`; a generic sentence naming the code for one not listed. */
export function messageFor(code) {
  return READABLE[code] || `Something went wrong (${code || "error"}).`;
}

/**
 * The text to show for `error`: a string as it is; otherwise the page's own text for its code
 * (`texts[code]`, a string or a function of the error), else the error's message, else
 * `messageFor(code)`. With `withCode`, the code follows in brackets, as the job page shows it.
 */
export function errorText(error, { texts = {}, withCode = false } = {}) {
  if (typeof error === "string") return error;
  const code = error && error.code;
  const own = code && Object.hasOwn(texts, code) ? texts[code] : null;
  const text = own != null
    ? (typeof own === "function" ? own(error) : own)
    : (error && error.message) || messageFor(code);
  return withCode && code ? `${text} (${code})` : text;
}

/** Show `error` (see errorText for the options) in `region`, announced as an alert. */
export function showError(region, error, options = {}) {
  if (region.getAttribute("role") !== "alert") region.setAttribute("role", "alert");
  region.textContent = errorText(error, options);
  region.hidden = false;
}

/** Hide the error region and empty it. */
export function clearError(region) {
  region.hidden = true;
  region.textContent = "";
}
