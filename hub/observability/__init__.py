"""Operational telemetry: Prometheus metrics for intake, workflow, relay and the queues between them."""
