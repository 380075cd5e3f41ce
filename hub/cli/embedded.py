"""On the embedded default, `swhub serve` also runs the tax, bank and customs simulators (as child
processes, talking to the hub over SOAP/HTTP like the real systems) so a newcomer's hub can take a
refund from filing to credit, and a declaration from early filing to release, with one command.

Each started simulator is recorded under var/sim/ like `swhub sim start` does, so `swhub sim status`
reports (and its control key steers) them; the records go when the hub stops."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hub.clock import now
from hub.db.models import ApiKey, Party
from hub.runtime import Hub
from hub.services.parties import hash_key
from simulators.common.runner import SimulatorProcess, free_port

LINK_LABEL = "embedded simulators (revoked at shutdown)"


class EmbeddedSimulators:
    def __init__(self, hub: Hub, api_base_url: str) -> None:
        self.hub = hub
        self.api = api_base_url.rstrip("/")
        self.processes: list[SimulatorProcess] = []
        self._key_hashes: list[str] = []
        self._records: list[Path] = []
        self.customs_port: int | None = None
        self.control_key = ""
        self.customs_without_key = False
        self._wire_customs()

    def _wire_customs(self) -> None:
        """Point the clearance gateway at a customs simulator before the workflow registers its
        consumers (create_app installs it); a customs URL the user set wins: then no simulator."""
        from hub.services.clearance.service import ClearanceService
        from hub.services.clearance.settings import ClearanceSettings

        if "clearance" in self.hub.services:
            return
        settings = ClearanceSettings()
        if settings.customs_url is None:
            self.customs_port = free_port("127.0.0.1")
            settings.customs_url = f"http://127.0.0.1:{self.customs_port}"
        service = ClearanceService(self.hub, settings)
        self.hub.clearance = service  # type: ignore[attr-defined]
        self.hub.install("clearance", service)

    def _link_key(self, role: str) -> str | None:
        """A key for a simulator's calls to the hub, held by the party with `role` for this run only
        (None when no party holds the role: the simulator's calls are then refused, and said so)."""
        key = "sim_" + secrets.token_urlsafe(24)
        with self.hub.db.unit_of_work() as session:
            parties = session.scalars(select(Party)).all()
            party = next((p for p in parties if role in (p.roles or [])), None)
            if party is None:
                return None
            digest = hash_key(key)
            self._key_hashes.append(digest)
            session.add(
                ApiKey(key_sha256=digest, party_id=party.id, roles=[role], label=LINK_LABEL, created_at=now())
            )
        return key

    def _record(self, name: str, process: SimulatorProcess) -> None:
        """The record `swhub sim status` reads (same shape as `swhub sim start` writes)."""
        from hub.cli.sim_control import state_dir

        proc = process._proc  # the runner keeps the child private; its pid is all we need
        record = {
            "name": name,
            "module": process.module,
            "pid": proc.pid if proc else None,
            "host": process.host,
            "port": process.port,
            "url": process.base_url,
            "api_key": self.control_key,
            "log": process.log_path,
            "detached": False,
            "hub_url": self.api,
            "amqp": False,
            "embedded": True,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        path = state_dir() / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        path.chmod(0o600)  # it holds the control key
        self._records.append(path)

    def start(self) -> dict[str, str]:
        key = self._link_key("tax_officer")
        if key is None:
            raise RuntimeError("no party with the tax_officer role to receive simulator callbacks")
        self.control_key = key
        tax = SimulatorProcess(
            "simulators.tax",
            env={
                "TAX_SIM_CALLBACK_URL": f"{self.api}/api/v1/refunds/events/tax",
                "TAX_SIM_CALLBACK_API_KEY": key,
                "TAX_SIM_API_KEY": key,  # the same key opens the testers' control API of this run
            },
        )
        bank = SimulatorProcess(
            "simulators.bank",
            env={
                "BANK_SIM_CALLBACK_URL": f"{self.api}/api/v1/refunds/events/bank",
                "BANK_SIM_CALLBACK_API_KEY": key,
                "BANK_SIM_API_KEY": key,
            },
        )
        started = [("tax", tax), ("bank", bank)]
        if self.customs_port is not None:
            customs_key = self._link_key("customs")
            self.customs_without_key = customs_key is None
            customs = SimulatorProcess(
                "simulators.customs",
                port=self.customs_port,
                env={
                    "CUSTOMS_SIM_HUB_URL": self.api,
                    "CUSTOMS_SIM_HUB_API_KEY": customs_key or "",
                    "CUSTOMS_SIM_API_KEY": key,
                },
            )
            started.append(("customs", customs))
        for name, process in started:
            self.processes.append(process.start())
            self._record(name, process)
        refunds = self.hub.refunds  # type: ignore[attr-defined]
        refunds.settings.tax_wsdl_url = f"{tax.base_url}/soap?wsdl"
        refunds.settings.bank_url = bank.base_url
        refunds.settings.bank_api_key = key
        return {name: process.base_url for name, process in started}

    def wiring(self) -> dict[str, str]:
        """Which counterpart system each role is wired to, for the start-up banner."""
        return wiring(self.hub, {p.module: p.base_url for p in self.processes})

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes.clear()
        for path in self._records:
            path.unlink(missing_ok=True)
        self._records = []
        if self._key_hashes:
            with self.hub.db.unit_of_work() as session:
                for digest in self._key_hashes:
                    row = session.get(ApiKey, digest)
                    if row is not None:
                        row.revoked = True
            self._key_hashes = []


def wiring(hub: Hub, sim_urls: dict[str, str]) -> dict[str, str]:
    """Which counterpart system each role is wired to (`sim_urls`: simulator module -> base URL of the
    ones this hub started), so a newcomer sees at start what answers and what will wait."""
    refunds = hub.refunds  # type: ignore[attr-defined]
    customs_url = hub.clearance.settings.customs_url  # type: ignore[attr-defined]

    def kind(url: str | None, module: str, unset: str) -> str:
        if not url:
            return unset
        base = sim_urls.get(module)
        return f"simulator at {url}" if base and url.startswith(base) else f"real system at {url}"

    no_customs = (
        "none: declarations wait in `submitted` (set HUB_CLEARANCE_CUSTOMS_URL)"
        if hub.settings.embedded_bus
        else "over AMQP: whoever consumes customs.# on swhub.notices (or set HUB_CLEARANCE_CUSTOMS_URL)"
    )
    return {
        "customs": kind(customs_url, "simulators.customs", no_customs),
        "tax authority": kind(refunds.settings.tax_wsdl_url, "simulators.tax", "none (messages wait)"),
        "bank": kind(refunds.settings.bank_url, "simulators.bank", "none (messages wait)"),
    }
