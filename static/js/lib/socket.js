// WebSockets as the pages open them: to a path on this host, ws or wss as the page was loaded,
// JSON both ways, and (where a page wants it) reconnecting with a doubling delay.

/** The WebSocket URL of `path` on this host: wss on an https page, ws otherwise. */
export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${path}`;
}

/**
 * Open a WebSocket to `path` on this host. `onMessage(message, connection)` gets each text frame
 * parsed as JSON and each binary frame as it is (an ArrayBuffer with `binaryType: "arraybuffer"`).
 * `onOpen(connection, event)`; `onClose(event, {reconnecting})`.
 *
 * `reconnect` (optional): `{delayMs = 1000, maxDelayMs = 15000, when(event), onRetry(delayMs)}`.
 * A connection that closes is opened again after `delayMs`, doubling up to `maxDelayMs` and back
 * to `delayMs` once one opens, unless `when(event)` says no or the page closed it.
 *
 * Returns the connection: `send(data)` and `sendJson(message)` (both false, sending nothing, when
 * not open), `isOpen`, `socket`, and `close(code, reason)`, after which it stays closed.
 */
export function openSocket(path, { binaryType, onOpen, onMessage, onClose, reconnect } = {}) {
  const url = socketUrl(path);
  const firstDelay = reconnect ? reconnect.delayMs ?? 1000 : 0;
  let delay = firstDelay;
  let socket = null;
  let timer = null;
  let closedByPage = false;

  const connection = {
    get socket() {
      return socket;
    },
    get isOpen() {
      return socket !== null && socket.readyState === WebSocket.OPEN;
    },
    send(data) {
      if (!connection.isOpen) return false;
      socket.send(data);
      return true;
    },
    sendJson(message) {
      return connection.send(JSON.stringify(message));
    },
    close(code = 1000, reason = "") {
      closedByPage = true;
      clearTimeout(timer);
      if (socket) socket.close(code, reason);
    },
  };

  function connect() {
    socket = new WebSocket(url);
    if (binaryType) socket.binaryType = binaryType;
    socket.addEventListener("open", (event) => {
      delay = firstDelay;
      if (onOpen) onOpen(connection, event);
    });
    socket.addEventListener("message", (event) => {
      const message = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
      if (onMessage) onMessage(message, connection);
    });
    socket.addEventListener("close", (event) => {
      const reconnecting = Boolean(reconnect) && !closedByPage
        && (!reconnect.when || reconnect.when(event));
      if (onClose) onClose(event, { reconnecting });
      if (!reconnecting) return;
      if (reconnect.onRetry) reconnect.onRetry(delay, event);
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, reconnect.maxDelayMs ?? 15000);
    });
  }

  connect();
  return connection;
}
