"""Wall-clock timing that covers GPU work, and the machine's matmul rate: what `make bench` times
with, and what a build prints first, since section timings compare only at like rates."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a wall-clock timing covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function: Callable[[], object], device: torch.device) -> float:
    """Seconds that `function()` takes, GPU work included."""
    return timed_with_cpu(function, device)[0]


def timed_with_cpu(function: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds of `function()`; on a machine shared with other
    jobs the CPU seconds (all threads together) are the steadier of the two."""
    synchronize(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    function()
    synchronize(device)
    return time.perf_counter() - start, time.process_time() - start_cpu


def matmul_gflops(
    device: torch.device, dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 5
) -> float:
    """The machine's matmul ceiling in `dtype`: GFLOP/s of a `size³` matmul, best of `repeats`."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator).to(device, dtype) for _ in range(2))
    torch.matmul(a, b)  # warm-up
    best = min(timed(lambda: torch.matmul(a, b), device) for _ in range(repeats))
    return 2 * size**3 / best / 1e9
