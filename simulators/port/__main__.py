"""`python -m simulators.port --host 127.0.0.1 --port 8105` (configuration: PORT_SIM_* env vars)."""

from __future__ import annotations

import logging

from simulators.common.runner import parse_host_port, serve
from simulators.port.app import create_app

DEFAULT_PORT = 8105


def main(argv: list[str] | None = None) -> None:
    args = parse_host_port(
        "python -m simulators.port",
        "swhub port/terminal simulator (vessel calls, tally, gate)",
        DEFAULT_PORT,
        argv,
    )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(create_app(), args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
