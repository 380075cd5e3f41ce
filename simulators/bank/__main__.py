"""`python -m simulators.bank --host 127.0.0.1 --port 8103` (configuration: BANK_SIM_* env vars)."""

from __future__ import annotations

from simulators.bank.app import create_app
from simulators.common.runner import parse_host_port, serve

DEFAULT_PORT = 8103


def main(argv: list[str] | None = None) -> None:
    args = parse_host_port(
        "python -m simulators.bank", "swhub bank simulator (treasury payment orders)", DEFAULT_PORT, argv
    )
    serve(create_app(), args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
