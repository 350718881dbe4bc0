"""The frame of `make bench`: settings, one row's comparison, timing, matmul ceilings, the table.

Each benchmark times our way and the way a reader would write first, on the same work, and
becomes one row of a Markdown table: both timings, the speed-up and the speed-up we aim for.
The machine's matmul rates in fp32 and bf16, measured in the same run, are the ceilings that the
rows' achieved GFLOP/s are compared against, each in the dtype the row runs in.

A benchmark is a function `(BenchSettings) -> Comparison`; `helpers.bench.__main__` lists them in
table order.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from helpers import profiles
from helpers.book.timing import matmul_gflops, synchronize, timed


@dataclass(frozen=True)
class BenchSettings:
    """What every benchmark is sized by: a resolved profile, a step count and the device."""

    profile: profiles.Profile
    steps: int = 300
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps = {self.steps!r}: give a positive number of training steps.")


@dataclass(frozen=True)
class Comparison:
    """One row of the table: our way against the obvious alternative on the same work."""

    name: str
    ours: str
    ours_seconds: float
    baseline: str
    baseline_seconds: float
    target_ratio: float
    details: dict[str, float] = field(default_factory=dict)
    limited_by: str = ""

    @property
    def ratio(self) -> float:
        """How many times faster our way is (baseline time / our time)."""
        return self.baseline_seconds / self.ours_seconds

    @property
    def meets_target(self) -> bool:
        return self.ratio >= self.target_ratio

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "meets_target": self.meets_target}


Benchmark = Callable[[BenchSettings], Comparison]


def products_gflops(
    shapes: list[tuple[int, int, int]], dtype: torch.dtype, device: torch.device, repeats: int = 3
) -> float:
    """GFLOP/s of the products `[m, k] @ [k, n]` in `shapes` run back to back, best of `repeats`:
    the most a row whose work is these products and nothing else could reach."""
    generator = torch.Generator().manual_seed(0)
    operands = [
        (
            torch.randn(m, k, generator=generator).to(device, dtype),
            torch.randn(k, n, generator=generator).to(device, dtype),
        )
        for m, k, n in shapes
    ]

    def run() -> None:
        for a, b in operands:
            torch.matmul(a, b)

    run()  # warm-up
    best = min(timed(run, device) for _ in range(repeats))
    return sum(2 * m * k * n for m, k, n in shapes) / best / 1e9


OUTSIDE_OPERATORS = "outside torch operators (Python, data)"


def time_shares(
    function: Callable[[], object],
    groups: dict[str, tuple[str, ...]],
    device: torch.device,
    named_from: float = 0.03,
) -> dict[str, float]:
    """Where `function()`'s wall time goes, as shares summing to 1: each group's operators' own time
    (torch profiler, self time; device time on a GPU), each other operator that takes at least
    `named_from` by its name, the rest as "other operators", and the time spent outside operators
    (the Python between them, numpy, reading data)."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = device.type == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if on_gpu else [])]
    synchronize(device)
    start = time.perf_counter()
    with profile(activities=activities) as profiler:
        function()
        synchronize(device)
    wall = (time.perf_counter() - start) * 1e6  # microseconds, as the profiler counts
    grouped = dict.fromkeys(groups, 0.0)
    ungrouped: dict[str, float] = {}
    for event in profiler.key_averages():
        own = event.self_device_time_total if on_gpu else event.self_cpu_time_total
        group = next((name for name, operators in groups.items() if event.key in operators), None)
        if group is None:
            ungrouped[event.key] = ungrouped.get(event.key, 0.0) + own
        else:
            grouped[group] += own
    named = {name: own for name, own in ungrouped.items() if own >= named_from * wall}
    totals = {**grouped, **named, "other operators": sum(ungrouped.values()) - sum(named.values())}
    totals[OUTSIDE_OPERATORS] = max(0.0, wall - sum(totals.values()))
    total = sum(totals.values())
    return {name: own / total for name, own in totals.items()}


def describe_shares(shares: dict[str, float]) -> str:
    """Shares as words, largest first: 'top-k 31%, dense products 22%, ...'."""
    return ", ".join(f"{name} {share:.0%}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]))


def run_benchmarks(
    benchmarks: dict[str, Benchmark], settings: BenchSettings, only: list[str] | None = None
) -> list[Comparison]:
    """Run the named benchmarks (all when `only` is None), in the order `benchmarks` lists them."""
    unknown = set(only or []) - set(benchmarks)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}: choose from {list(benchmarks)}.")
    return [function(settings) for name, function in benchmarks.items() if not only or name in only]


def matmul_ceilings(device: torch.device, rows: list[Comparison]) -> dict[str, float]:
    """GFLOP/s of a large matmul in float32 and in each dtype a row ran in (only those: bfloat16
    where the machine emulates it takes minutes per matmul)."""
    names = {"float32"} | {row.details["dtype"] for row in rows if "dtype" in row.details}
    return {name: matmul_gflops(device, getattr(torch, name)) for name in sorted(names)}


def ceiling_share(row: Comparison, ceilings: dict[str, float]) -> float | None:
    """The row's achieved GFLOP/s as a share of the matmul ceiling in its dtype (fp32 unless
    `details["dtype"]` says otherwise); None for rows that report no FLOP rate."""
    gflops = row.details.get("achieved_gflops")
    return None if gflops is None else gflops / ceilings[row.details.get("dtype", "float32")]


def share_meets_target(row: Comparison, ceilings: dict[str, float]) -> bool | None:
    """Whether the row's share of the ceiling meets its `target_share`, or, where it names one, its
    `target_share_of_products_alone` (for a ceiling that misbehaves); None without a target."""
    share, target = ceiling_share(row, ceilings), row.details.get("target_share")
    if share is None or target is None:
        return None
    of_products = row.details.get("target_share_of_products_alone")
    alone = row.details.get("products_alone_gflops")
    by_products = bool(of_products and alone) and row.details["achieved_gflops"] / alone >= of_products
    return share >= target or by_products


def _share_cell(row: Comparison, ceilings: dict[str, float]) -> str:
    share = ceiling_share(row, ceilings)
    if share is None:
        return "–"
    dtype = row.details.get("dtype", "float32")
    cell = f"{row.details['achieved_gflops']:.1f} ({share:.1%}"
    target = row.details.get("target_share")
    cell += f", target ≥ {target:.0%}) {dtype}" if target else f") {dtype}"
    alone = row.details.get("products_alone_gflops")
    if alone:
        cell += f"; its products alone {alone:.0f} ({alone / ceilings[dtype]:.0%})"
        of_products = row.details.get("target_share_of_products_alone")
        if of_products:
            cell += (
                f", ours {row.details['achieved_gflops'] / alone:.0%} of them (target ≥ {of_products:.0%})"
            )
    met = share_meets_target(row, ceilings)
    return cell if met is None else cell + f"; share target {'met' if met else 'not met'}"


def markdown_table(rows: list[Comparison], ceilings: dict[str, float]) -> str:
    """The rows as a Markdown table, with achieved GFLOP/s as a share of the matmul ceiling."""
    lines = [
        "| Benchmark | Ours | s | Baseline | s | Speed-up | Target | Met | GFLOP/s (share of ceiling) |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.ours} | {row.ours_seconds:.2f} | {row.baseline} | "
            f"{row.baseline_seconds:.2f} | {row.ratio:.1f}× | ≥ {row.target_ratio:g}× | "
            f"{'yes' if row.meets_target else 'no'} | {_share_cell(row, ceilings)} |"
        )
    lines.extend(f"\n{row.name}: limited by {row.limited_by}." for row in rows if row.limited_by)
    rates = ", ".join(f"{name} {gflops:.0f}" for name, gflops in ceilings.items())
    lines.append(f"\nMatmul ceilings (2048³), GFLOP/s: {rates}; {torch.get_num_threads()} threads.")
    return "\n".join(lines)


def write_results(
    rows: list[Comparison], ceilings: dict[str, float], settings: BenchSettings, path: Path
) -> None:
    """Save the run's rows and the machine they ran on as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "profile": settings.profile.name,
        "steps": settings.steps,
        "device": str(settings.device),
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "torch": torch.__version__,
        "machine": platform.platform(),
        "matmul_gflops": ceilings,
        "rows": [
            {
                **row.as_dict(),
                "ceiling_share": ceiling_share(row, ceilings),
                "share_meets_target": share_meets_target(row, ceilings),
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
