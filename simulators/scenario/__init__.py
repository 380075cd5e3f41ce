"""Scenario runner: rehearse a port day (vessels, declarations, refunds, injected faults) against a hub
through its public interfaces only, then check the expected outcomes. Scenarios are YAML files in
simulators/scenarios/."""
