"""Bank simulator: receives treasury payment orders (退库 payment orders), credits the exporter's
account after a delay on its own clock, and notifies the hub by callback (到账). Run:
`python -m simulators.bank --host 127.0.0.1 --port 8103`."""
