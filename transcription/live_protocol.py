"""The live-streaming protocol on `WS /ws/stream/`, as data and pure functions: message types,
limits, `start` validation, error codes and the payloads both ends exchange. The consumer, the
stream worker and the command-line client use it; its rules are tested here without a server.
The README ("Live streaming") and the API docs describe it for people.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from uzwhisper.asr.languages import LANGUAGE_MODES, SAMPLE_RATE

# Client → server control messages; audio travels as binary frames.
START = "start"
STOP = "stop"
# Server → client.
READY = "ready"
PARTIAL = "partial"
FINAL = "final"
ACK = "ack"
ERROR = "error"
DONE = "done"

FORMATS = ("pcm16",)  # little-endian mono
PROMPT_MAX_CHARS = 1000
# Frames a client may send between `start` and `ready`; more are refused with `not_ready`.
FRAMES_BEFORE_READY = 50

# Close codes.
CLOSE_NORMAL = 1000
CLOSE_WORKER_LOST = 1011
CLOSE_BUSY = 1013
CLOSE_NOT_AUTHENTICATED = 4401

# Between processes (channel layer): a consumer asks any worker with a free slot on this channel.
REQUESTS_CHANNEL = "stream.requests"


@dataclass(frozen=True)
class ProtocolError(Exception):
    """A client mistake, answered with `{"type": "error", "code": …, "message": …}`."""

    code: str
    message: str

    def payload(self, **extra: Any) -> dict[str, Any]:
        return error(self.code, self.message, **extra)


@dataclass(frozen=True)
class StartRequest:
    language: str
    initial_prompt: str
    vad: bool
    ack: bool

    def worker_config(self) -> dict[str, Any]:
        """What the stream worker needs to open the session."""
        return {"language": self.language, "initial_prompt": self.initial_prompt, "vad": self.vad}


def parse_start(message: dict[str, Any]) -> StartRequest:
    """The `start` message's settings, or ProtocolError naming what is wrong."""
    language = message.get("language", "auto")
    if language not in LANGUAGE_MODES:
        raise ProtocolError("unsupported_language", "language must be auto, uz, ru or mixed.")
    if message.get("format", "pcm16") not in FORMATS:
        raise ProtocolError("unsupported_format", "format must be pcm16 (little-endian mono).")
    sample_rate = message.get("sample_rate", SAMPLE_RATE)
    if sample_rate != SAMPLE_RATE:
        raise ProtocolError(
            "unsupported_sample_rate",
            f"sample_rate must be {SAMPLE_RATE}; resample on the client (got {sample_rate!r}).",
        )
    prompt = message.get("initial_prompt", "")
    if not isinstance(prompt, str) or len(prompt) > PROMPT_MAX_CHARS:
        raise ProtocolError(
            "invalid_prompt", f"initial_prompt is a string of at most {PROMPT_MAX_CHARS}."
        )
    return StartRequest(
        language=language,
        initial_prompt=prompt,
        vad=bool(message.get("vad", True)),
        ack=bool(message.get("ack", False)),
    )


def check_frame(frame: bytes, *, max_bytes: int) -> None:
    """Raise ProtocolError for an audio frame the server drops."""
    if len(frame) > max_bytes:
        raise ProtocolError(
            "frame_too_large",
            f"Frames carry at most {max_bytes} bytes; this one had {len(frame)}. "
            "Send 100–500 ms per frame.",
        )
    if len(frame) % 2:
        raise ProtocolError("bad_frame", "PCM16 frames have an even number of bytes.")


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": ERROR, "code": code, "message": message, **extra}


def ready(*, session: str, model: str) -> dict[str, Any]:
    return {
        "type": READY,
        "session": session,
        "model": model,
        "sample_rate": SAMPLE_RATE,
        "format": FORMATS[0],
    }


def ack(seq: int) -> dict[str, Any]:
    """`seq` counts the frames the server accepted on this connection, from 1."""
    return {"type": ACK, "seq": seq}


def new_session_id() -> str:
    return uuid.uuid4().hex
