"""A small HTTP listener serving /metrics for processes without the API (`swhub worker`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hub.db.session import Database
from hub.observability.exposition import CONTENT_TYPE, bearer_ok, render

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s would flood the log
        return


class MetricsListener:
    def __init__(self, db: Database, host: str, port: int, token: str) -> None:
        self.db, self.token = db, token
        self._server: WSGIServer = make_server(host, port, self._app, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_port

    def start(self) -> MetricsListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"only /metrics here\n"]
        if not bearer_ok(environ.get("HTTP_AUTHORIZATION"), self.token):
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
            )
            return [b"send Authorization: Bearer <HUB_METRICS_TOKEN>\n"]
        body = render(self.db)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]


def start_if_configured(
    db: Database, host: str, port: int | None, token: str | None
) -> MetricsListener | None:
    if port is None:
        return None
    if not token:
        log.warning("HUB_METRICS_PORT is set but HUB_METRICS_TOKEN is not: worker metrics stay off")
        return None
    listener = MetricsListener(db, host, port, token).start()
    log.info("metrics on http://%s:%s/metrics", host, listener.port)
    return listener
