"""The clearance domain model: aggregates, state machines as data, domain events. No I/O: nothing
here imports SQLAlchemy, the bus, HTTP or the clock; callers pass the time in. The workflow loads an
aggregate from its rows (hub.services.clearance.repository), calls one domain method and writes it back,
then handles the events the aggregate collected (audit, notices)."""
