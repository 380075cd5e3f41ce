"""The guard every test uses for a service or tool it needs (RabbitMQ, PostgreSQL, rabbitmqctl,
Chromium): under CI=true a missing one fails the test, on a dev machine it skips it."""

from __future__ import annotations

import pytest

import tests.conftest as conftest
from tests.ui import browser


def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda _name: None)
    monkeypatch.setattr(browser.Path, "exists", lambda _self: False)
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed.*under CI=true"):
        browser.chromium()
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="skipped unless CI=true"):
        browser.chromium()


def test_an_unreachable_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL unreachable at .*under CI=true"):
        conftest.require_service("PostgreSQL", "postgresql://127.0.0.1:1/none")
