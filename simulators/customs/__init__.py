"""Customs simulator for the two-step import clearance flow (see simulators/customs/README.md)."""
