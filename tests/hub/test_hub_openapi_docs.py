"""Every raw-body POST declares its request body and media types in the OpenAPI document, and its
documented error responses carry the envelope the hub really returns (checked against a real 4xx)."""

from __future__ import annotations

import jsonschema
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.openapi_docs import ERROR_ENVELOPE
from hub.runtime import Hub

RAW_POSTS = [
    "/api/v1/messages",
    "/convert",
    "/validate",
    "/api/v1/risk/screen",
    "/api/v1/refunds",
    "/api/v1/refunds/events/tax",
    "/api/v1/refunds/events/bank",
]


@pytest.fixture()
def client(tmp_path, monkeypatch) -> TestClient:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.delenv("HUB_AMQP_URL", raising=False)
    return TestClient(create_app(Hub(), start=False))


def test_raw_posts_declare_body_and_error_envelope(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in RAW_POSTS:
        matches = [p for p in paths if p.endswith(path)]
        assert matches, (path, sorted(paths))
        op = paths[matches[0]]["post"]
        content = op["requestBody"]["content"]
        assert content and all(m.startswith("application/") for m in content), (path, content)
        err = op["responses"]["422"]["content"]["application/json"]["schema"]
        assert err == ERROR_ENVELOPE, path


def test_documented_envelope_is_what_a_refusal_returns(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (next(p for p in paths if p.endswith(raw)) for raw in RAW_POSTS):
        answer = client.post(path, content=b"not a message")  # no key: refused
        assert answer.status_code in (400, 401, 403, 415, 422), (path, answer.status_code)
        jsonschema.validate(answer.json(), ERROR_ENVELOPE)
