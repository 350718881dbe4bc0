"""Compare two runs of the book, section by section: every metric and every claim's verdict.

    python -m helpers.book.compare RESULTS_A RESULTS_B [--rtol 1e-6]

Each argument is a folder of `<section>/results.json` (a run's `results/` folder in the cache).
Timings (metrics named `*_seconds` or `*_per_second`) are left aside. A metric differs when the
two values are further apart than `rtol` times the larger magnitude (0: any difference); a claim
differs when its verdict does. Used to check that a change moves no result (before and after), and
that the GPU path agrees with the CPU one. Exits 1 when a verdict differs or a section is missing,
2 when a run cannot be read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

TIMING_SUFFIXES = ("_seconds", "_per_second")


@dataclass
class Comparison:
    """What two runs share, and where they part."""

    metrics: int = 0
    claims: int = 0
    metric_differences: list[str] = field(default_factory=list)
    verdict_differences: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Every section in both runs, with the same verdicts (metrics may move within noise)."""
        return not (self.verdict_differences or self.missing)


def _close(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))


def _load(path: Path) -> dict:
    """A results.json's metrics and claims; only `id` and `holds` of each claim are read, so runs
    from before a change of the claims' other fields still compare."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not (
        isinstance(data, dict)
        and isinstance(data.get("metrics"), dict)
        and isinstance(data.get("claims"), list)
        and all(isinstance(c, dict) and {"id", "holds"} <= c.keys() for c in data["claims"])
    ):
        raise ValueError(f"{path} is not a section's results.json (metrics, and claims with id and holds)")
    return data


def _sections(folder: Path) -> dict[str, Path]:
    return {path.parent.name: path for path in sorted(folder.glob("*/results.json"))}


def compare_runs(a: Path, b: Path, rtol: float = 0.0) -> Comparison:
    """Every section of `a` and `b` compared, metric by metric and claim by claim."""
    found = Comparison()
    runs_a, runs_b = _sections(a), _sections(b)
    found.missing = [
        f"{slug}: only in {a if slug in runs_a else b}" for slug in sorted(runs_a.keys() ^ runs_b.keys())
    ]
    for slug in sorted(runs_a.keys() & runs_b.keys()):
        one, other = _load(runs_a[slug]), _load(runs_b[slug])
        for name in sorted(one["metrics"].keys() | other["metrics"].keys()):
            if name.endswith(TIMING_SUFFIXES):
                continue
            found.metrics += 1
            x, y = one["metrics"].get(name), other["metrics"].get(name)
            if x is None or y is None or not _close(x, y, rtol):
                found.metric_differences.append(f"{slug}: {name} {x} vs {y}")
        verdicts = [{c["id"]: c["holds"] for c in run["claims"]} for run in (one, other)]
        for claim in sorted(verdicts[0].keys() | verdicts[1].keys()):
            found.claims += 1
            x, y = (v.get(claim, "absent") for v in verdicts)
            if x != y:
                found.verdict_differences.append(f"{slug}: {claim} {x} vs {y}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.book.compare", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("a", type=Path, help="a run's results folder")
    parser.add_argument("b", type=Path, help="the other run's results folder")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for metrics (default 0)")
    args = parser.parse_args(argv)
    for folder in (args.a, args.b):
        if not _sections(folder):
            print(f"error: {folder} holds no <section>/results.json", file=sys.stderr)
            return 2
    try:
        found = compare_runs(args.a, args.b, args.rtol)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in found.missing + found.verdict_differences + found.metric_differences:
        print(line)
    print(
        f"{found.metrics} metrics compared, {len(found.metric_differences)} differ beyond rtol "
        f"{args.rtol:g}; {found.claims} claims compared, {len(found.verdict_differences)} verdicts differ."
    )
    return 0 if found.agrees else 1


if __name__ == "__main__":
    sys.exit(main())
