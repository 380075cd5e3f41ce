"""Headless Chromium (Debian's package) for the page tests: the DOM after scripts ran, and a screenshot.
Under CI=true a missing Chromium fails the test (.ci/run installs it); on a dev machine it skips."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    missing("Chromium is not installed (.ci/run installs it: apt-get install -y chromium)")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="swhub-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


def dump_dom(url: str) -> str:
    """The page's DOM once its scripts ran (fetches included, within the virtual-time budget)."""
    done = _run(["--dump-dom", url])
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, name: str, size: str = "1280,900") -> Path:
    """A PNG under var/artifacts/ (gitignored; CI keeps it as an artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    done = _run([f"--screenshot={path}", f"--window-size={size}", url])
    assert done.returncode == 0 and path.exists() and path.stat().st_size > 1000, done.stderr[-2000:]
    return path
