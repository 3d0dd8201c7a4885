"""Stream a file or raw PCM from stdin to uzwhisper and print what it recognises.

    python -m transcription.stream_client ws://127.0.0.1:8000/ws/stream/ clip.wav --token TOKEN
    arecord -f S16_LE -r 16000 -c 1 -t raw | python -m transcription.stream_client URL - --token T

Any format PyAV reads is resampled to 16 kHz mono PCM16; `-` reads raw PCM16 at 16 kHz from
stdin. Files are sent at real-time pace (`--speed 4` sends four times faster). Partial text is
printed on one updating line, committed text on lines of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from websockets.sync.client import connect

from transcription import live_protocol as protocol
from uzwhisper.asr.languages import LANGUAGE_MODES, SAMPLE_RATE

FRAME_SECONDS = 0.1
FRAME_BYTES = int(SAMPLE_RATE * FRAME_SECONDS) * 2


def file_frames(path: str) -> Iterator[bytes]:
    import numpy as np

    from uzwhisper.lib.audio import decode_to_array

    audio = decode_to_array(path)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    for offset in range(0, len(pcm), FRAME_BYTES):
        yield pcm[offset : offset + FRAME_BYTES]


def stdin_frames() -> Iterator[bytes]:
    while chunk := sys.stdin.buffer.read(FRAME_BYTES):
        yield chunk[: len(chunk) - len(chunk) % 2]


def stream(
    url: str,
    frames: Iterator[bytes],
    *,
    token: str,
    language: str = "auto",
    prompt: str = "",
    speed: float = 1.0,
    out: TextIO = sys.stdout,
) -> dict:
    """Send `frames` at `speed` × real time; return the `done` message (or the last error)."""
    result: dict = {}
    with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=2**22
    ) as ws:
        ws.send(
            json.dumps(
                {
                    "type": protocol.START,
                    "language": language,
                    "sample_rate": SAMPLE_RATE,
                    "format": protocol.FORMATS[0],
                    "initial_prompt": prompt,
                }
            )
        )
        first = json.loads(ws.recv(timeout=30))
        if first["type"] != protocol.READY:
            return first

        def send_all() -> None:
            started = time.monotonic()
            sent = 0.0
            for frame in frames:
                ws.send(frame)
                sent += len(frame) / (2 * SAMPLE_RATE)  # PCM16: two bytes a sample
                delay = started + sent / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            ws.send(json.dumps({"type": protocol.STOP}))

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        for raw in ws:
            message = json.loads(raw)
            if message["type"] == protocol.PARTIAL:
                out.write(f"\r\x1b[2K… {message['text']}")
            elif message["type"] == protocol.FINAL:
                out.write(
                    f"\r\x1b[2K[{message['start']:7.2f}-{message['end']:7.2f} "
                    f"{message['language']}] {message['text']}\n"
                )
            elif message["type"] == protocol.ERROR:
                out.write(f"\r\x1b[2Kerror {message['code']}: {message['message']}\n")
                result = message
            elif message["type"] == protocol.DONE:
                result = message
                break
            out.flush()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="ws://host:port/ws/stream/")
    parser.add_argument("source", help="an audio file, or - for raw 16 kHz PCM16 on stdin")
    parser.add_argument("--token", required=True, help="API token")
    parser.add_argument("--language", default="auto", choices=LANGUAGE_MODES)
    parser.add_argument("--prompt", default="")
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args(argv)
    frames = stdin_frames() if args.source == "-" else file_frames(args.source)
    done = stream(
        args.url,
        frames,
        token=args.token,
        language=args.language,
        prompt=args.prompt,
        speed=args.speed,
    )
    if done.get("type") != protocol.DONE:
        print(f"stream ended without done: {done}", file=sys.stderr)
        return 1
    print(
        f"\njob {done['job']}: {done['duration_s']} s, RTF {done['real_time_factor']}, "
        f"lag median {done['lag_median_s']} s, P95 {done['lag_p95_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
