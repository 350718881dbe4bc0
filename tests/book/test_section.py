import subprocess
import sys

import pytest
import torch

from helpers.book.results import read_results
from helpers.book.section import start_section
from helpers.profiles import ConfigError


def test_start_section_resolves_the_run_and_seeds_its_randomness(tmp_path):
    config, device, results, data_source, init_generator = start_section(
        "demo", "smoke", 4, tmp_path, {"toy.steps": 7}
    )
    assert config.toy.steps == 7 and device.type in ("cpu", "cuda")
    assert read_results(tmp_path / "results.json")["seed"] == 4
    again = start_section("demo", "smoke", 4, tmp_path / "again", {})
    assert torch.equal(data_source.uniform(3, 2), again.data_source.uniform(3, 2))
    assert torch.equal(
        torch.randn(3, generator=init_generator), torch.randn(3, generator=again.init_generator)
    )


def test_bad_parameters_fail_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="unknown profile"):
        start_section("demo", "nope", 0, tmp_path, {})
    with pytest.raises(ConfigError, match="unknown override"):
        start_section("demo", "smoke", 0, tmp_path, {"toy.nosuch": 1})
    assert not (tmp_path / "results.json").exists()


def test_bad_seeds_and_overrides_fail_before_anything_is_written(tmp_path):
    for seed in ("abc", 1.5, -1, True):
        with pytest.raises(ConfigError, match=f"SEED = {seed!r} is not allowed"):
            start_section("demo", "smoke", seed, tmp_path, {})
    with pytest.raises(ConfigError, match="sae_suite.jumprelu_l0 = 4096 is not allowed"):
        start_section("demo", "smoke", 0, tmp_path, '{"sae_suite.jumprelu_l0": 4096}')
    assert not (tmp_path / "results.json").exists()


SECTION = """# %% tags=["parameters"]
PROFILE = "smoke"
SEED = 0
RESULTS_DIR = None
OVERRIDES = {}

# %%
from helpers.book.section import start_section

config, *_ = start_section("demo", PROFILE, SEED, RESULTS_DIR, OVERRIDES)
print("steps", config.toy.steps)
"""


def test_papermill_p_passes_overrides_as_json_and_they_are_read(tmp_path):
    import jupytext

    notebook = tmp_path / "demo.ipynb"
    jupytext.write(jupytext.reads(SECTION, fmt="py:percent"), notebook)
    out = str(tmp_path / "out.ipynb")
    run = [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        out,
        "-k",
        "python3",
        "--language",
        "python",
        "--log-output",
    ]
    good = subprocess.run(
        [*run, "-p", "RESULTS_DIR", str(tmp_path), "-p", "OVERRIDES", '{"toy.steps": 7}'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert good.returncode == 0 and "steps 7" in good.stdout + good.stderr
    bad = subprocess.run(
        [*run, "-p", "OVERRIDES", '{"toy.nope": 1}'], capture_output=True, text=True, timeout=300
    )
    assert bad.returncode != 0 and "unknown override 'toy.nope'" in bad.stdout + bad.stderr
