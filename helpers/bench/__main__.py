"""`make bench`: the timings that matter, each against the obvious alternative, in one run.

    python -m helpers.bench [--profile cpu] [--steps 300] [--only NAME ...]

The rows run in the order `BENCHMARKS` lists them, Part by Part. The table is printed and
written to `<cache>/bench/results.json`.
"""

from __future__ import annotations

import argparse

from helpers import profiles
from helpers.bench import dark_matter, lm, open_questions, toys
from helpers.bench.framework import (
    Benchmark,
    BenchSettings,
    markdown_table,
    matmul_ceilings,
    run_benchmarks,
    write_results,
)
from helpers.book.paths import cache_root

BENCHMARKS: dict[str, Benchmark] = {
    "tms_sparsity sweep training": toys.tms_sparsity_training,
    "toy SAE training": toys.toy_sae_training,
    "activation harvest": lm.activation_harvest,
    "TopK SAE training": lm.topk_sae_training,
    "TopK suite training": lm.suite_training,
    "closed-form regression (Eq. 3)": dark_matter.error_regression,
    "gradient pursuit (§7.1)": dark_matter.pursuit_encoding,
    "splice KL and loss (Part V)": open_questions.splice_costs,
    "synthetic activation draws (Part V)": open_questions.synthetic_draws,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu", help="whose sizes to time (default: cpu)")
    parser.add_argument("--steps", type=int, default=300, help="training steps per timing (default: 300)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"some of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    profile = profiles.load(args.profile)
    settings = BenchSettings(profile, args.steps, profile.torch_device())
    rows = run_benchmarks(BENCHMARKS, settings, args.only)
    ceilings = matmul_ceilings(settings.device, rows)
    print(markdown_table(rows, ceilings))
    path = cache_root() / "bench" / "results.json"
    write_results(rows, ceilings, settings, path)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
