"""The book's scorecard: every section's claims in one table, read from the run's `results.json`.

    python -m helpers.book.scorecard [--profile cpu] [--seeds 0,1,2] [--format table|csv|json]

prints the rows of an executed run (`python -m helpers.build` at that profile and seed), so that two
runs (two seeds, two profiles, two commits) can be diffed; with several seeds, each claim's verdict
at each seed and whether they agree (`make scorecard` executes the seeds first). The build renders
the same rows as the book's scorecard page (`scorecard_page`) and writes them beside the HTML as
`claims.json` and `claims.csv` (`write_rows`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from helpers.book.results import VERDICTS, read_results

COLUMNS = (
    "part",
    "section",
    "id",
    "claim",
    "paper",
    "ours",
    "criterion",
    "estimate",
    "low",
    "high",
    "control",
    "verdict",
    "profile",
    "seed",
)
MARK = {"yes": "✓ yes", "partly": "~ partly", "no": "✗ no"}


def claim_rows(results: Mapping[str, Path], parts: Mapping[str, str]) -> pd.DataFrame:
    """One row per claim (`COLUMNS`), section by section in reading order: `results` maps each
    section's slug to its `results.json`, `parts` each slug to its Part's caption."""
    rows = []
    for slug, path in results.items():
        data = read_results(path)
        for claim in data["claims"]:
            low, high = claim["interval"] or (None, None)
            rows.append(
                {
                    "part": parts[slug],
                    "section": slug,
                    **{key: claim[key] for key in ("id", "claim", "paper", "ours", "criterion", "estimate")},
                    "low": low,
                    "high": high,
                    "control": claim["control"],
                    "verdict": claim["holds"],
                    "profile": data["profile"],
                    "seed": data["seed"],
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def seed_agreement(rows_by_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Each claim's verdict at each seed (columns `seed N`, in the order given; empty where a seed's
    run lacks the claim) and `across seeds`: "agrees" when every seed that has it (two or more) gives
    one verdict, else the count of each verdict, e.g. "flips: yes 2, no 1"."""
    keys = ["part", "section", "id"]
    table = None
    for seed, rows in rows_by_seed.items():
        column = rows[keys + ["verdict"]].rename(columns={"verdict": f"seed {seed}"})
        table = column if table is None else table.merge(column, on=keys, how="outer", sort=False)
    seeds = [f"seed {seed}" for seed in rows_by_seed]

    def agreement(verdicts: pd.Series) -> str:
        counts = verdicts.dropna().value_counts()
        if counts.sum() < 2:
            return "one seed only"
        if len(counts) == 1:
            return "agrees"
        return "flips: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS if v in counts)

    table["across seeds"] = table[seeds].apply(agreement, axis=1)
    return table.fillna("")


def verdict_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Claims per Part (in reading order) and verdict, with totals."""
    counts = pd.crosstab(rows.part, rows.verdict).reindex(columns=list(VERDICTS), fill_value=0)
    counts = counts.reindex(rows.part.unique())
    counts["claims"] = counts.sum(axis=1)
    counts.loc["The book"] = counts.sum()
    return counts


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _number(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.3g}"


def with_agreement(rows: pd.DataFrame, agreement: pd.DataFrame | None) -> pd.DataFrame:
    """`rows` with `seed_agreement`'s columns beside each claim, where there is an agreement."""
    if agreement is None:
        return rows
    return rows.merge(agreement, on=["part", "section", "id"], how="left", sort=False)


def scorecard_page(rows: pd.DataFrame, agreement: pd.DataFrame | None = None) -> str:
    """The scorecard as a MyST page: the counts per Part and verdict, then every claim under its
    Part, each linked to its section; with `agreement` (`seed_agreement`), each claim's verdicts
    across seeds too."""
    runs = sorted({(p, int(s)) for p, s in zip(rows.profile, rows.seed, strict=True)})
    run = ", ".join(f"profile `{p}`, seed {s}" for p, s in runs)
    counts = verdict_counts(rows)
    rows = with_agreement(rows, agreement)
    seeds = [c for c in rows.columns if c.startswith("seed ")]
    lines = [
        "# Scorecard",
        "",
        f"Every claim of the book as this build's runs decided it ({run}), read from each section's "
        "`results.json` when the book was built: nothing here is typed by hand. Each rule is its "
        "section's, stated in the criterion column; the interval is the deciding estimate's 95% interval. "
        "The same rows are in `claims.json` and `claims.csv` beside this page's HTML, and "
        "`python -m helpers.book.scorecard` prints them for any executed run.",
        "",
        "## Verdicts per Part",
        "",
        "| Part | " + " | ".join(VERDICTS) + " | claims |",
        "|" + " --- |" * (len(VERDICTS) + 2),
    ]
    for part, row in counts.iterrows():
        lines.append(f"| {_cell(part)} | " + " | ".join(str(int(v)) for v in row) + " |")
    headers = ["Section", "Claim", "Paper", "Ours", "Criterion", "Estimate", "Interval", "Holds here?"]
    if seeds:
        flips = int(rows["across seeds"].str.startswith("flips").sum())
        lines += [
            "",
            f"Across {', '.join(seeds)} (every section executed and current at each): {flips} of "
            f"{len(rows)} claims change verdict between seeds; the last column says which.",
        ]
        headers.append("Across seeds")
    for part, claims in rows.groupby("part", sort=False):
        lines += ["", f"## {part}", "", "| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        for row in claims.to_dict("records"):
            low, high = row["low"], row["high"]
            interval = "–" if low is None or pd.isna(low) else f"[{_number(low)}, {_number(high)}]"
            cells = [
                f"{{doc}}`notebooks/{row['section']}`",
                *(_cell(row[key]) for key in ("claim", "paper", "ours", "criterion")),
                _number(row["estimate"]),
                interval,
                MARK[row["verdict"]],
            ]
            if seeds:
                cells.append(_cell(row["across seeds"]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_rows(rows: pd.DataFrame, folder: Path) -> None:
    """`claims.json` (a list of rows) and `claims.csv` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_json(folder / "claims.json", orient="records", indent=2, force_ascii=False)
    rows.to_csv(folder / "claims.csv", index=False)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give seeds as integers joined by commas, e.g. 0,1,2"
        ) from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} names a seed twice")
    return seeds


def main(argv: list[str] | None = None) -> int:
    from helpers.build import RunFolder, toc_parts  # the build renders this module's page

    parser = argparse.ArgumentParser(
        prog="python -m helpers.book.scorecard", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--profile", default="cpu", help="the run's profile (default cpu)")
    parser.add_argument(
        "--seeds",
        type=_seeds,
        default=[0],
        help="the runs' seeds, e.g. 0,1,2: verdicts side by side (default 0)",
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    parts = toc_parts()
    by_seed, missing = {}, []
    for seed in args.seeds:
        folder = RunFolder.for_run(args.profile, seed)
        results = {slug: folder.results_dir(slug) / "results.json" for slug in parts}
        absent = [slug for slug, path in results.items() if not path.is_file()]
        missing += [f"{slug} (seed {seed})" for slug in absent]
        try:
            by_seed[seed] = claim_rows({s: p for s, p in results.items() if s not in absent}, parts)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if missing:
        print(f"not executed at {args.profile}: {', '.join(missing)}", file=sys.stderr)
    rows = by_seed[args.seeds[0]]
    if rows.empty:
        return 1
    if len(by_seed) > 1:
        rows = with_agreement(rows, seed_agreement(by_seed))
    if args.format == "csv":
        rows.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(rows.to_json(orient="records", indent=2, force_ascii=False))
    else:
        columns = ["section", "id", "verdict", "estimate", "low", "high"]
        if len(by_seed) > 1:
            columns = ["section", "id", *(f"seed {seed}" for seed in by_seed), "across seeds"]
        print(rows[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        print(verdict_counts(by_seed[args.seeds[0]]).to_string())
        if len(by_seed) > 1:
            flips = int(rows["across seeds"].str.startswith("flips").sum())
            print(
                f"\n{flips} of {len(rows)} claims change verdict across seeds {', '.join(map(str, by_seed))}."
            )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
