"""Invariants of a Part I sweep that a section's `results.json` must satisfy (used by tests/checks)."""

from __future__ import annotations


def assert_whole_seeds_missed(rate_pct: float, instances: int, settings: int, name: str) -> None:
    """A single-seed miss rate (percent of all instances) counts whole seeds and never a setting's
    kept seed, which agrees with itself: at most `instances - settings` seeds miss."""
    missed = rate_pct * instances / 100
    assert abs(missed - round(missed)) < 1e-6, f"{name}: {rate_pct}% of {instances} seeds is not whole seeds"
    assert 0 <= round(missed) <= instances - settings, f"{name}: {round(missed)} seeds missed, kept ones too"
