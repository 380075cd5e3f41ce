"""The hub's default topology: its three topic exchanges (plus, always, the dead-letter pair).

Queues belong to the components that consume them; they pass their QueueSpecs as `extra`."""

from __future__ import annotations

from hub.bus.base import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, Topology


def default_topology(extra: Topology | None = None) -> Topology:
    base = Topology()
    return base.merged(extra) if extra is not None else base


def describe(topology: Topology) -> list[str]:
    """Human-readable lines for what declare() creates (used by `swhub bus declare`)."""
    lines = [f"exchange {DEAD_LETTER_EXCHANGE} (topic, durable)"]
    lines += [f"exchange {name} (topic, durable)" for name in topology.exchanges]
    lines.append(f"queue {DEAD_LETTER_QUEUE} (quorum) <- {DEAD_LETTER_EXCHANGE} '#'")
    for spec in topology.queues:
        bindings = ", ".join(f"{exchange} '{key}'" for exchange, key in spec.bindings) or "no bindings"
        dead_letter = f", dead-letter to {DEAD_LETTER_EXCHANGE}" if spec.dead_letter else ""
        lines.append(
            f"queue {spec.name} (quorum, delivery limit {spec.delivery_limit}{dead_letter}) <- {bindings}"
        )
    return lines
