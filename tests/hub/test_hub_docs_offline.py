"""/docs and /redoc work without internet: every script, stylesheet and image they reference is the
hub's own, and the hub serves it (a customs intranet has no CDN)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.runtime import Hub


@pytest.fixture()
def client(tmp_path, monkeypatch) -> TestClient:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.delenv("HUB_AMQP_URL", raising=False)
    return TestClient(create_app(Hub(), start=False))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_uses_only_local_assets(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
    refs += re.findall(r"""url:\s*["']([^"']+)["']""", html.text)
    assets = [r for r in refs if r.endswith((".js", ".css", ".png"))]
    assert assets, html.text
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), f"{page} loads {ref} from outside the hub"
    for ref in assets:
        served = client.get(ref)
        assert served.status_code == 200 and len(served.content) > 100, ref
