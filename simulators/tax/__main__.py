"""`python -m simulators.tax --host 127.0.0.1 --port 8102` (configuration: TAX_SIM_* env vars)."""

from __future__ import annotations

from simulators.common.runner import parse_host_port, serve
from simulators.tax.app import create_app

DEFAULT_PORT = 8102


def main(argv: list[str] | None = None) -> None:
    args = parse_host_port(
        "python -m simulators.tax", "swhub export tax refund simulator (SOAP 1.1)", DEFAULT_PORT, argv
    )
    serve(create_app(), args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
