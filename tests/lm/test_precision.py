import pytest
import torch

from helpers.lm import precision


def test_explicit_settings_mean_what_they_say_on_any_machine(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision.resolve_dtype("float32", "cpu") is torch.float32
    with pytest.warns(UserWarning, match="no bf16 units"):
        assert precision.resolve_dtype("bfloat16", "cpu") is torch.bfloat16
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"amx_bf16"})
    assert precision.resolve_dtype("bfloat16", "cpu") is torch.bfloat16
    assert precision.dtype_name(torch.bfloat16) == "bfloat16"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "fma"}, torch.float32),
        ({"avx512f", "avx512_bf16"}, torch.bfloat16),
        ({"amx_bf16"}, torch.bfloat16),
    ],
)
def test_auto_takes_bfloat16_only_where_the_cpu_computes_it(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    assert precision.resolve_dtype("auto", "cpu") is expected


def test_the_flags_are_read_from_cpuinfo(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    assert precision.cpu_flags() == {"fpu", "avx2", "avx512_bf16"}
    monkeypatch.setattr(precision, "CPUINFO", tmp_path / "absent")
    assert precision.cpu_flags() == set()


def test_an_unknown_setting_is_named():
    with pytest.raises(ValueError, match="float16.*auto, float32, bfloat16"):
        precision.resolve_dtype("float16", "cpu")
