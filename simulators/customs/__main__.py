"""`python -m simulators.customs --host 127.0.0.1 --port 8104` (configuration: CUSTOMS_SIM_* env vars)."""

from __future__ import annotations

from simulators.common.runner import parse_host_port, serve
from simulators.customs.app import create_app

DEFAULT_PORT = 8104


def main(argv: list[str] | None = None) -> None:
    args = parse_host_port(
        "python -m simulators.customs", "swhub customs simulator (two-step import)", DEFAULT_PORT, argv
    )
    serve(create_app(), args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
