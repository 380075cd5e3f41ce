"""Port/terminal simulator: plans vessel calls (manifest, discharge tallies, gate-in arrival reports,
distribution applications), sends them to the hub over AMQP or HTTP, and gates containers out when
the hub's release notices arrive. See docs/simulators.md ("Port/terminal simulator")."""
