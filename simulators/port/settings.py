"""Port simulator configuration from the environment (prefix PORT_SIM_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TERMINAL_USCC = "91370200M3C0PRT01B"


class PortSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORT_SIM_", extra="ignore")

    amqp_url: str | None = None  # AMQP mode (wins over hub_url)
    hub_url: str | None = None  # HTTP mode: POST {hub_url}/api/v1/messages, poll notices
    terminal_code: str = "CNTAO/4227"  # manifest UnloadingLocation ID = the terminal
    terminal_uscc: str = DEFAULT_TERMINAL_USCC  # port operator: MT3101/CODECO, MT5101/COARRI
    terminal_api_key: str | None = None
    carrier_uscc: str = "91370200M3C0BRK01N"  # carrier's agent (broker role): MT1101/CUSCAR, MT6102
    carrier_api_key: str | None = None
    api_key: str | None = None  # tester key for /control/*; random (and logged) when unset
    clock: str = "system"  # SimClock.from_spec: system | manual[:iso] | scaled:<factor>[:iso]
    queue: str | None = None  # AMQP notice queue; default swhub.port.<terminal uscc>
    tick_seconds: float = 0.05  # real seconds between engine ticks
    # beyond the contract (documented in docs/simulators.md):
    poll_seconds: float = 0.5  # HTTP mode: how often notices are polled
    poll_types: str = "ReleaseNotice,InspectionNotice,MT9999,DiscrepancyNotice,RefusalNotice"
    send_attempts: int = 30  # 5xx / transport errors: retries with backoff before a message fails
    reorder_max_hold_seconds: float = 300.0  # a reordered message waits at most this long for its successor
    transit_minutes: float = 30.0  # distributed cargo: terminal tally -> arrival at the destination site

    @property
    def notice_queue(self) -> str:
        return self.queue or f"swhub.port.{self.terminal_uscc}"

    @property
    def transport(self) -> str:
        return "amqp" if self.amqp_url else "http" if self.hub_url else "none"
