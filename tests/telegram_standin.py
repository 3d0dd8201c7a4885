"""A Telegram Bot API stand-in on loopback, for driving the real python-telegram-bot
Application in tests as a local Bot API server would serve it.

It answers `/bot<token>/<method>` (getMe, getUpdates with long polling, sendMessage, sendVoice,
sendAudio, editMessageText/Caption/ReplyMarkup, answerCallbackQuery, getFile, setMyCommands,
deleteWebhook …) and serves files at `/file/bot<token>/<path>`. It records every call the bot
makes; a test plays the volunteers: it queues updates (commands, texts, voice messages whose
audio the stand-in then serves, button presses) and waits, by condition, for the bot's replies.

Faults on demand: `fail_get_file` (getFile answers an error), `fail_download` (the file URL
answers 500). Unknown methods answer 404 as Telegram does, and are listed in `unknown_methods`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:stand-in-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "UzWhisper",
    "username": "uzwhisper_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Longest getUpdates wait the stand-in grants, whatever the bot asks: keeps shutdown quick.
MAX_LONG_POLL_S = 2.0


@dataclass(frozen=True)
class Volunteer:
    """A Telegram user the test plays."""

    id: int
    first_name: str = "Test"
    language_code: str = "uz"

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    def as_chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


@dataclass
class Call:
    """One request the bot made, with its parameters (JSON values decoded) and what the stand-in
    answered (`result`, a message dict for the send/edit methods)."""

    index: int
    method: str
    params: dict[str, Any]
    result: Any = None
    uploads: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when the bot made it

    @property
    def chat_id(self) -> int | None:
        chat_id = self.params.get("chat_id")
        return int(chat_id) if chat_id is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[str]:
        """The callback data of every inline button this call set."""
        markup = self.params.get("reply_markup") or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes


class BotApiStandIn:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._query_ids = itertools.count(1)
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, id) -> latest
        self.files: dict[str, StoredFile] = {}
        self.file_downloads: list[str] = []  # paths served
        self.fail_get_file: set[str] = set()
        self.fail_download: set[str] = set()
        self.unknown_methods: list[str] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._confirmed_offset = 0
        self.last_update_id = 0  # of the last button press
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                standin._serve(self)

            def do_POST(self) -> None:
                standin._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle ---

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> BotApiStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- HTTP ---

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        # PTB percent-encodes the file URL (the token's colon): compare decoded paths.
        path = urllib.parse.unquote(urllib.parse.urlsplit(request.path).path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        file_prefix = f"/file/bot{self.token}/"
        api_prefix = f"/bot{self.token}/"
        if path.startswith(file_prefix):
            status, payload, content_type = self._file(path[len(file_prefix) :])
        elif path.startswith(api_prefix):
            params, uploads = _parse_params(request.headers.get("Content-Type", ""), body)
            answer = self._method(path[len(api_prefix) :], params, uploads)
            status = int(answer.get("error_code", 200))
            payload, content_type = json.dumps(answer).encode(), "application/json"
        else:
            status, content_type = 401, "application/json"
            payload = b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # A long poll whose client stopped waiting (the bot shutting down).
            request.close_connection = True

    def _file(self, file_path: str) -> tuple[int, bytes, str]:
        with self._lock:
            stored = next((f for f in self.files.values() if f.path == file_path), None)
            self.file_downloads.append(file_path)
            if stored is None:
                return 404, b"Not Found", "text/plain"
            if stored.file_id in self.fail_download:
                return 500, b"Internal Server Error", "text/plain"
            return 200, stored.data, "application/octet-stream"

    def _method(
        self, method: str, params: dict[str, Any], uploads: dict[str, bytes]
    ) -> dict[str, Any]:
        if method == "getUpdates":
            return {"ok": True, "result": self._get_updates(params)}
        with self._lock:
            call = Call(len(self.calls), method, params, uploads=uploads)
            answer = self._answer(call)
            call.result = answer.get("result")
            self.calls.append(call)
            self._wake_waiters()
        return answer

    def _answer(self, call: Call) -> dict[str, Any]:
        params = call.params
        method = call.method
        if method == "getMe":
            return _ok(BOT_USER)
        if method in ("deleteWebhook", "setWebhook", "setMyCommands", "deleteMessage", "close"):
            return _ok(True)
        if method == "answerCallbackQuery":
            return _ok(True)
        if method in ("sendMessage", "sendVoice", "sendAudio"):
            return _ok(self._new_message(call))
        if method in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = self.messages.get(key)
            if message is None:
                return _error(400, "Bad Request: message to edit not found")
            if method == "editMessageText":
                message["text"] = params["text"]
            if method == "editMessageCaption":
                message["caption"] = params.get("caption", "")
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            return _ok(dict(message))
        if method == "getFile":
            stored = self.files.get(str(params.get("file_id")))
            if stored is None or stored.file_id in self.fail_get_file:
                return _error(400, "Bad Request: file is temporarily unavailable")
            return _ok(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "file_path": stored.path,
                }
            )
        self.unknown_methods.append(method)
        return _error(404, "Not Found")

    def _new_message(self, call: Call) -> dict[str, Any]:
        chat_id = int(call.params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
        }
        if call.method == "sendMessage":
            message["text"] = call.params["text"]
        else:
            kind = "voice" if call.method == "sendVoice" else "audio"
            data = call.uploads.get(kind, b"")
            stored = self._store_file(data, folder="sent")
            message[kind] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": 0,
                "file_size": len(data),
            }
            if "caption" in call.params:
                message["caption"] = call.params["caption"]
        if "reply_markup" in call.params:
            message["reply_markup"] = call.params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return dict(message)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + wait
        with self._lock:
            # Updates below the offset are confirmed: Telegram forgets them.
            self._confirmed_offset = max(self._confirmed_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            return list(self._updates[: int(params.get("limit") or 100)])

    # --- what the test does ---

    def _store_file(self, data: bytes, *, folder: str) -> StoredFile:
        number = len(self.files) + 1
        stored = StoredFile(
            file_id=f"file-{number}-{folder}",
            file_unique_id=f"unique{number}",
            path=f"{folder}/file_{number}.oga",
            data=data,
        )
        self.files[stored.file_id] = stored
        return stored

    def queue_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue one update for getUpdates; returns its update_id."""
        with self._lock:
            update = {"update_id": next(self._update_ids), kind: payload}
            self._updates.append(update)
            self._lock.notify_all()
            return int(update["update_id"])

    def confirmed(self, update_id: int) -> bool:
        """Whether the bot has confirmed `update_id` (asked getUpdates for a later offset):
        Telegram will not deliver it again, even to a restarted bot."""
        with self._lock:
            return self._confirmed_offset > update_id

    def make_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An update for a webhook test to post (not queued for getUpdates)."""
        with self._lock:
            return {"update_id": next(self._update_ids), kind: payload}

    def message(self, volunteer: Volunteer, **content: Any) -> dict[str, Any]:
        with self._lock:
            message_id = next(self._message_ids)
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": volunteer.as_chat(),
            "from": volunteer.as_user(),
            **content,
        }

    def send_text(self, volunteer: Volunteer, text: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.queue_update("message", self.message(volunteer, **content))

    def upload(self, data: bytes) -> StoredFile:
        """A file a volunteer sent, as Telegram stores it for the bot to fetch."""
        with self._lock:
            return self._store_file(data, folder="voice")

    def send_voice(
        self,
        volunteer: Volunteer,
        data: bytes,
        *,
        duration: int,
        file_size: int | None = None,
        fault: str | None = None,
    ) -> StoredFile:
        """A voice message; `fault` "getFile" or "download" makes fetching it fail."""
        stored = self.upload(data)
        with self._lock:
            if fault == "getFile":
                self.fail_get_file.add(stored.file_id)
            elif fault == "download":
                self.fail_download.add(stored.file_id)
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data) if file_size is None else file_size,
        }
        self.queue_update("message", self.message(volunteer, voice=voice))
        return stored

    def send_video_note(self, volunteer: Volunteer, data: bytes, *, duration: int = 3) -> None:
        stored = self.upload(data)
        video_note = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "length": 240,
            "duration": duration,
            "file_size": len(data),
        }
        self.queue_update("message", self.message(volunteer, video_note=video_note))

    def send_document(
        self, volunteer: Volunteer, data: bytes, *, file_name: str, mime_type: str
    ) -> None:
        stored = self.upload(data)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        self.queue_update("message", self.message(volunteer, document=document))

    def callback_query(
        self, volunteer: Volunteer, message: dict[str, Any], data: str
    ) -> dict[str, Any]:
        with self._lock:
            # Prefixed with the user: whose press an answerCallbackQuery answers shows at once.
            query_id = f"{volunteer.id}-{next(self._query_ids)}"
        return {
            "id": query_id,
            "from": volunteer.as_user(),
            "chat_instance": f"ci-{volunteer.id}",
            "message": message,
            "data": data,
        }

    def press(self, volunteer: Volunteer, call: Call, data_prefix: str) -> str:
        """Press, on the message `call` sent (as it looked then: an old keyboard stays
        pressable, as in Telegram until the bot edits it away), the button whose callback data
        starts with `data_prefix`. Returns the callback query id."""
        matching = [data for data in call.buttons if data.startswith(data_prefix)]
        assert matching, f"no button {data_prefix!r} on {call.method} {call.text!r}: {call.buttons}"
        message = dict(call.result)
        query = self.callback_query(volunteer, message, matching[0])
        self.last_update_id = self.queue_update("callback_query", query)
        return str(query["id"])

    def press_data(self, volunteer: Volunteer, call: Call, data: str) -> str:
        """A callback query with `data` on the message `call` sent, whatever its buttons: a
        button from a message long gone, or a client that sends what it likes."""
        query = self.callback_query(volunteer, dict(call.result), data)
        self.queue_update("callback_query", query)
        return str(query["id"])

    def mark(self) -> int:
        """The index the next call will have: wait for replies after it."""
        with self._lock:
            return len(self.calls)

    def _wake_waiters(self) -> None:
        for loop, event in self._waiters:
            loop.call_soon_threadsafe(event.set)

    def find(self, predicate: Callable[[Call], bool], *, after: int = 0) -> Call | None:
        with self._lock:
            return next((c for c in self.calls[after:] if predicate(c)), None)

    async def wait_for(
        self, predicate: Callable[[Call], bool], *, after: int = 0, within: float = 30
    ) -> Call:
        """The first call from index `after` on that satisfies `predicate`, waiting for it
        up to `within` seconds."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                while True:
                    event.clear()
                    found = self.find(predicate, after=after)
                    if found is not None:
                        return found
                    await event.wait()
        except TimeoutError:
            made = "\n".join(f"  {c.index} {c.method} {c.text[:80]!r}" for c in self.calls[after:])
            raise AssertionError(f"no such call within {within} s; the bot made:\n{made}") from None
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    async def reply(
        self,
        volunteer: Volunteer,
        *,
        after: int,
        contains: str = "",
        method: str | None = None,
        button: str | None = None,
        within: float = 30,
    ) -> Call:
        """The bot's first message (sent or edited) to `volunteer` from call `after` on whose
        text contains `contains`, made with `method` if given, carrying a button whose data
        starts with `button` if given."""

        def matches(call: Call) -> bool:
            return (
                call.chat_id == volunteer.id
                and call.method != "answerCallbackQuery"
                and (method is None or call.method == method)
                and contains in call.text
                and (button is None or any(b.startswith(button) for b in call.buttons))
            )

        return await self.wait_for(matches, after=after, within=within)

    async def answer(self, query_id: str, *, within: float = 30) -> Call:
        """The bot's answerCallbackQuery for the query `query_id`."""
        return await self.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and str(c.params.get("callback_query_id")) == query_id
            ),
            within=within,
        )

    def sent_to(self, volunteer: Volunteer, *, after: int = 0) -> list[Call]:
        with self._lock:
            return [c for c in self.calls[after:] if c.chat_id == volunteer.id]


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _decode(value: str) -> Any:
    """PTB sends objects and arrays JSON-encoded in form fields; plain strings as they are."""
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parse_params(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A Bot API request's parameters (JSON, form-encoded or multipart) and uploaded files."""
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        return json.loads(body), {}
    if content_type.startswith("multipart/form-data"):
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        params: dict[str, Any] = {}
        uploads: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                uploads[str(name)] = payload
            else:
                params[str(name)] = _decode(payload.decode())
        # PTB names an upload's part after a random id and puts "attach://<id>" in the field.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                uploads[key] = uploads.pop(value.removeprefix("attach://"), b"")
        return params, uploads
    fields = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    return {key: _decode(values[-1]) for key, values in fields.items()}, {}


@contextlib.asynccontextmanager
async def polling_bot() -> AsyncIterator[Any]:
    """The real Application (collection.telegram), long-polling the Bot API that settings name
    (point TELEGRAM_API_BASE_URL at a stand-in first); stopped, with its state written, on
    exit."""
    from collection.telegram.application import build_application

    application = build_application()
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=int(MAX_LONG_POLL_S))
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
