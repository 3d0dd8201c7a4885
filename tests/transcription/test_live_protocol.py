"""The live protocol's rules, without a server or a worker."""

from __future__ import annotations

import pytest

from transcription import live_protocol as protocol
from uzwhisper.asr.languages import LANGUAGE_MODES, SAMPLE_RATE


def test_a_bare_start_takes_the_defaults():
    start = protocol.parse_start({"type": "start"})
    assert start == protocol.StartRequest(language="auto", initial_prompt="", vad=True, ack=False)
    assert start.worker_config() == {"language": "auto", "initial_prompt": "", "vad": True}


@pytest.mark.parametrize("language", LANGUAGE_MODES)
def test_every_language_mode_is_accepted(language):
    assert protocol.parse_start({"language": language, "ack": True}).language == language


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"language": "kk"}, "unsupported_language"),
        ({"language": None}, "unsupported_language"),
        ({"format": "opus"}, "unsupported_format"),
        ({"sample_rate": 44100}, "unsupported_sample_rate"),
        ({"sample_rate": "16000"}, "unsupported_sample_rate"),
        ({"initial_prompt": 5}, "invalid_prompt"),
        ({"initial_prompt": "x" * (protocol.PROMPT_MAX_CHARS + 1)}, "invalid_prompt"),
    ],
)
def test_a_bad_start_names_what_is_wrong(message, code):
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_start({"type": "start", **message})
    assert caught.value.code == code
    payload = caught.value.payload()
    assert payload["type"] == "error"
    assert payload["code"] == code
    assert payload["message"]


def test_frames_over_the_limit_or_of_odd_length_are_refused():
    protocol.check_frame(b"\0" * 3200, max_bytes=3200)
    with pytest.raises(protocol.ProtocolError, match="at most 3200 bytes") as caught:
        protocol.check_frame(b"\0" * 3202, max_bytes=3200)
    assert caught.value.code == "frame_too_large"
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.check_frame(b"\0" * 3, max_bytes=3200)
    assert caught.value.code == "bad_frame"


def test_server_messages():
    assert protocol.ready(session="s1", model="whisper-base@x") == {
        "type": "ready",
        "session": "s1",
        "model": "whisper-base@x",
        "sample_rate": SAMPLE_RATE,
        "format": "pcm16",
    }
    assert protocol.ack(7) == {"type": "ack", "seq": 7}
    assert protocol.error("busy", "Full.", retry_after_s=10) == {
        "type": "error",
        "code": "busy",
        "message": "Full.",
        "retry_after_s": 10,
    }
    assert protocol.new_session_id() != protocol.new_session_id()
