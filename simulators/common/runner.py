"""Run a simulator app with uvicorn, and start/stop a simulator as a real child process (used by the
tests and, later, by `swhub sim start`)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn
from fastapi import FastAPI


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def parse_host_port(
    prog: str, description: str, default_port: int, argv: list[str] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def serve(app: FastAPI, host: str, port: int, log_level: str = "warning") -> None:
    # a short graceful-shutdown window: injected "timeout" requests must not hold the process open
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)


class SimulatorProcess:
    """`python -m <module> --host H --port P` as a child process; `start()` waits until /health is 200."""

    def __init__(
        self,
        module: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.module = module
        self.host = host
        self.port = port or free_port(host)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        # kept open for the child's whole life, closed in stop()
        self._log = tempfile.NamedTemporaryFile(prefix=f"{module}-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> str:
        return self._log.name

    def start(self, timeout: float = 20.0) -> SimulatorProcess:
        cmd = [sys.executable, "-m", self.module, "--host", self.host, "--port", str(self.port)]
        self._proc = subprocess.Popen(cmd, env=self.env, cwd=self.cwd, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self._proc.returncode}: {self.read_log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.module} not ready on {self.base_url} after {timeout}s: {self.read_log()}")

    def read_log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._log.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
