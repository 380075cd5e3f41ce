"""Two-step import clearance (两步申报 + 两段准入): manifest, summary declaration, stage-1 screening,
arrival and tally, reconciliation, release, complete declaration, stage-2 screening, clearance."""
