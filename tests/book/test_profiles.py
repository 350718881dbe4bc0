import dataclasses
import subprocess
import sys

import pytest

from helpers import profiles
from helpers.book.paths import REPO


def test_every_profile_resolves_and_is_frozen():
    for name in profiles.PROFILES:
        config = profiles.load(name)
        assert config.name == name
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.toy.steps = 1  # type: ignore[misc]


def test_unknown_profile_names_the_choices():
    with pytest.raises(profiles.ConfigError, match="unknown profile 'nope': choose one of smoke, cpu, paper"):
        profiles.load("nope")


def test_override_changes_only_what_it_names():
    config = profiles.load("smoke", {"toy.steps": 7, "toy.lr": 1})
    base = profiles.load("smoke")
    assert config.toy.steps == 7 and config.toy.lr == 1.0 and isinstance(config.toy.lr, float)
    assert config.toy.batch_size == base.toy.batch_size and config.tms_intro == base.tms_intro


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"toy.stepz": 1}, "unknown override 'toy.stepz': section 'toy' has"),
        ({"nosuch.steps": 1}, "unknown override 'nosuch.steps': the profile has"),
        ({"toy": 1}, "names a whole section"),
        ({"toy.steps": 0}, r"toy.steps = 0 is not allowed: toy.steps must be a positive integer"),
        ({"toy.steps": 2.5}, "has type float; expected int"),
        ({"toy.steps": True}, "has type bool; expected int"),
        ({"toy.lr": -1e-3}, "toy.lr must be a positive number"),
        ({"tms_intro.n_hidden": 3}, "tms_intro.n_hidden must be 2"),
        ({"tms_intro.min_probability": 2.0}, r"must be in \(0, 1\]"),
        ({"tms_sparsity.n_hidden": 20}, "tms_sparsity.n_features must be larger than tms_sparsity.n_hidden"),
        ({"tms_sparsity.sparsities": (0.9, 0.5)}, "at least two increasing floats in"),
        ({"tms_sparsity.sparsities": (0.0, 1.0)}, r"in \[0, 1\)"),
        ({"tms_sparsity.reference_seeds": -1}, "non-negative integer"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
    ],
)
def test_bad_overrides_fail_with_a_message_naming_the_parameter(overrides, message):
    with pytest.raises(profiles.ConfigError, match=message):
        profiles.load("cpu", overrides)


def test_cpu_device_resolves():
    assert profiles.load("cpu", {"device": "cpu"}).torch_device().type == "cpu"


def test_profile_check_runs_without_third_party_packages():
    """`make book PROFILE=nope` validates with the bare interpreter, before any set-up."""
    bad = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "nope"], cwd=REPO, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "unknown profile 'nope'" in bad.stderr
    good = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "smoke"], cwd=REPO, capture_output=True
    )
    assert good.returncode == 0


def test_list_overrides_become_tuples():
    config = profiles.load("smoke", {"tms_sparsity.sparsities": [0.0, 0.9]})
    assert config.tms_sparsity.sparsities == (0.0, 0.9)


def test_language_model_names_are_checked_before_anything_loads():
    from helpers.lm.model import PACKAGED_MODELS

    assert set(profiles.PACKAGED_MODELS) == set(PACKAGED_MODELS)
    with pytest.raises(profiles.ConfigError, match="lm.model.*packaged model"):
        profiles.load("cpu", {"lm.model": "gemma-3-27b"})
    assert profiles.load("cpu", {"lm.model": "google/gemma-2-2b"}).lm.model == "google/gemma-2-2b"
