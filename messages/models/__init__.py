"""Canonical, wire-format-independent message models."""
