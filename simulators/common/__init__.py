"""Utilities shared by the agency simulators: controllable clock, tester control API pieces, failure
injection, callback delivery with retries, background ticker, and process runner."""
