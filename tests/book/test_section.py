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
