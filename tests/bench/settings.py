"""Bench settings small enough for a unit test."""

import dataclasses

from helpers import profiles
from helpers.bench import framework as bench


def tiny_settings() -> bench.BenchSettings:
    profile = profiles.load("smoke", {"toy.seeds_per_setting": 1, "toy.batch_size": 8})
    section = dataclasses.replace(profile.tms_sparsity, n_features=4, n_hidden=2, sparsities=(0.0, 0.9))
    return bench.BenchSettings(dataclasses.replace(profile, tms_sparsity=section), steps=2)
