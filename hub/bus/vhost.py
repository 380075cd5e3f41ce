"""A RabbitMQ virtual host of its own, for a test or a benchmark run (rabbitmqctl).

Every hub binds its ingress queue to `swhub.ingress` with `#` and every customs simulator binds
`customs.#`, so on a shared vhost concurrent runs answer and process each other's messages (a benchmark
once dead-lettered another run's test traffic as malformed). Without rabbitmqctl: the given vhost."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


@contextmanager
def private_vhost(amqp_url: str, prefix: str = "swhub-test") -> Iterator[str]:
    """Yield the AMQP URL of a fresh vhost (deleted afterwards) the URL's user may use fully."""
    if shutil.which("rabbitmqctl") is None:
        yield amqp_url
        return
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "add_vhost", name], check=True, capture_output=True, timeout=60)
    try:
        user = urlsplit(amqp_url).username or "guest"
        subprocess.run(
            [*ctl, "set_permissions", "-p", name, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield amqp_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        subprocess.run([*ctl, "delete_vhost", name], check=False, capture_output=True, timeout=60)
