"""The OpenAPI schema at /api/schema/: every HTTP endpoint, and the WebSocket protocols in its
description (OpenAPI has no way to describe sockets)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.support import ROOT

pytestmark = pytest.mark.django_db

SOCKET_MODULES = [
    ROOT / "transcription" / "consumers.py",
    ROOT / "transcription" / "stream_consumer.py",
    ROOT / "transcription" / "stream_worker.py",
    ROOT / "transcription" / "live_protocol.py",
]


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_openai_endpoint_is_in_the_schema(schema):
    operation = schema["paths"]["/v1/audio/transcriptions"]["post"]
    assert operation["tags"] == ["openai"]
    assert operation["security"] == [{"bearerAuth": []}]
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][form.rsplit("/", 1)[-1]]["properties"]
    assert {"file", "model", "language", "prompt", "response_format"} <= set(fields)
    assert "timestamp_granularities[]" in fields
    ok = operation["responses"]["200"]["content"]
    assert set(ok) == {"application/json", "text/plain"}
    assert {"401", "413", "422", "504"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_jobs_carry_their_source_and_can_be_filtered_by_it(schema):
    job = schema["components"]["schemas"]["JobOutput"]["properties"]
    assert "source" in job
    listing = schema["paths"]["/api/v1/jobs/"]["get"]
    source = next(p for p in listing["parameters"] if p["name"] == "source")
    assert source["in"] == "query"
    assert schema["components"]["schemas"]["SourceEnum"]["enum"] == [
        "upload",
        "api",
        "openai",
        "live",
    ]


def test_the_websocket_protocols_are_described(schema):
    text = schema["info"]["description"]
    for heading in ("/ws/jobs/<id>/", "/ws/stream/"):
        assert f"## WebSocket `{heading}`" in text
    assert "`seq` counts the binary audio frames the server accepted" in text
    assert "starting at 1" in text
    # Everything the code sends or closes with is described: message types, error codes and
    # close codes, read from the consumers and the stream worker themselves.
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOCKET_MODULES)
    types = set(re.findall(r'"type": "([a-z_.]+)"', source))
    types |= set(
        re.findall(
            r'^(?:START|STOP|READY|PARTIAL|FINAL|ACK|ERROR|DONE) = "([a-z_]+)"', source, re.M
        )
    )
    types = {t for t in types if not t.startswith("stream.")}  # channel-layer messages
    codes = set(re.findall(r'(?:_error|ProtocolError)\(\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'"code": "([a-z_]+)"', source))
    closes = set(re.findall(r"close\(code=(\d+)\)", source))
    closes |= set(re.findall(r"^CLOSE_[A-Z_]+ = (\d+)", source, re.M))
    assert {"job.snapshot", "job.segment", "pong", "ready", "ack", "partial", "final"} <= types
    assert {"busy", "not_ready", "worker_lost", "stream_too_long"} <= codes
    assert {"4401", "4404", "1011", "1013"} <= closes
    for name in sorted(types | codes):
        assert f"`{name}`" in text, f"{name} is not described"
    for code in sorted(closes):
        assert f"**{code}**" in text, f"close code {code} is not described"


def test_the_openai_endpoint_is_still_served_by_its_async_view():
    # A browser-less client with CSRF checks on: the wrapper must keep the view CSRF-exempt and
    # answer in OpenAI's shape.
    client = Client(enforce_csrf_checks=True)
    response = client.post("/v1/audio/transcriptions", {"model": "whisper-1"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/audio/transcriptions").json()["error"]["code"] == "method_not_allowed"
