"""What a dtype setting (`auto`, `float32`, `bfloat16`) means on this machine.

bfloat16 halves the model's and the SAEs' matmul time where the hardware computes it (a CUDA GPU
with bf16, a CPU with AVX512_BF16 or AMX), and is orders of magnitude slower where torch emulates
it (an AVX2-only CPU). `auto` takes bfloat16 only where it is native, float32 elsewhere; the
resolved dtype, not the setting, names every cache it makes."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from helpers.profiles import DTYPES

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them (empty where /proc/cpuinfo is absent)."""
    if not CPUINFO.exists():
        return set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def native_bfloat16(device: torch.device | str) -> bool:
    """Whether `device` multiplies bfloat16 matrices in hardware."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and any(flag in cpu_flags() for flag in NATIVE_BF16_CPU_FLAGS)


def resolve_dtype(setting: str, device: torch.device | str) -> torch.dtype:
    """The torch dtype of a setting: `auto` is bfloat16 where native on `device`, else float32."""
    if setting not in DTYPES:
        raise ValueError(f"dtype {setting!r}: choose one of {', '.join(DTYPES)}.")
    if setting == "auto":
        return torch.bfloat16 if native_bfloat16(device) else torch.float32
    if setting == "bfloat16" and not native_bfloat16(device):
        warnings.warn(
            f"dtype bfloat16 on {torch.device(device)}, which has no bf16 units: torch emulates it, "
            "orders of magnitude slower than float32; 'auto' takes float32 here.",
            stacklevel=2,
        )
    return getattr(torch, setting)


def dtype_name(dtype: torch.dtype) -> str:
    """`torch.bfloat16` as `bfloat16`: how pages and cache fingerprints name a dtype."""
    return str(dtype).removeprefix("torch.")
