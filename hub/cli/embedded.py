"""On the embedded default, `swhub serve` also runs the tax and bank simulators (as child
processes, talking to the hub over SOAP/HTTP like the real systems) so a newcomer's hub can take a
refund from filing to credit with one command."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from hub.clock import now
from hub.db.models import ApiKey, Party
from hub.runtime import Hub
from hub.services.parties import hash_key
from simulators.common.runner import SimulatorProcess

LINK_LABEL = "embedded simulators (revoked at shutdown)"


class EmbeddedSimulators:
    def __init__(self, hub: Hub, api_base_url: str) -> None:
        self.hub = hub
        self.api = api_base_url.rstrip("/")
        self.processes: list[SimulatorProcess] = []
        self._key_hash: str | None = None

    def _link_key(self) -> str:
        """A key for the simulators' callbacks, held by the tax authority party for this run only."""
        key = "sim_" + secrets.token_urlsafe(24)
        with self.hub.db.unit_of_work() as session:
            parties = session.scalars(select(Party)).all()
            tax = next((p for p in parties if "tax_officer" in (p.roles or [])), None)
            if tax is None:
                raise RuntimeError("no party with the tax_officer role to receive simulator callbacks")
            self._key_hash = hash_key(key)
            session.add(
                ApiKey(
                    key_sha256=self._key_hash,
                    party_id=tax.id,
                    roles=["tax_officer"],
                    label=LINK_LABEL,
                    created_at=now(),
                )
            )
        return key

    def start(self) -> dict[str, str]:
        key = self._link_key()
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
        for process in (tax, bank):
            self.processes.append(process.start())
        refunds = self.hub.refunds  # type: ignore[attr-defined]
        refunds.settings.tax_wsdl_url = f"{tax.base_url}/soap?wsdl"
        refunds.settings.bank_url = bank.base_url
        refunds.settings.bank_api_key = key
        return {"tax (SOAP)": f"{tax.base_url}/soap?wsdl", "bank": bank.base_url}

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes.clear()
        if self._key_hash:
            with self.hub.db.unit_of_work() as session:
                row = session.get(ApiKey, self._key_hash)
                if row is not None:
                    row.revoked = True
            self._key_hash = None
