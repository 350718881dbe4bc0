"""The book's scorecard: every section's claims in one table, read from the run's `results.json`.

    python -m helpers.book.scorecard [--profile cpu] [--seed 0] [--format table|csv|json]

prints the rows of an executed run (`python -m helpers.build` at that profile and seed), so that two
runs (two seeds, two profiles, two commits) can be diffed. The build renders the same rows as the
book's scorecard page (`scorecard_page`) and writes them beside the HTML as `claims.json` and
`claims.csv` (`write_rows`).
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


def scorecard_page(rows: pd.DataFrame) -> str:
    """The scorecard as a MyST page: the counts per Part and verdict, then every claim under its
    Part, each linked to its section."""
    runs = sorted({(p, int(s)) for p, s in zip(rows.profile, rows.seed, strict=True)})
    run = ", ".join(f"profile `{p}`, seed {s}" for p, s in runs)
    counts = verdict_counts(rows)
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
    for part, claims in rows.groupby("part", sort=False):
        lines += [
            "",
            f"## {part}",
            "",
            "| Section | Claim | Paper | Ours | Criterion | Estimate | Interval | Holds here? |",
            "|" + " --- |" * 8,
        ]
        for row in claims.itertuples():
            interval = (
                "–" if row.low is None or pd.isna(row.low) else f"[{_number(row.low)}, {_number(row.high)}]"
            )
            cells = [
                f"{{doc}}`notebooks/{row.section}`",
                *(_cell(v) for v in (row.claim, row.paper, row.ours, row.criterion)),
                _number(row.estimate),
                interval,
                MARK[row.verdict],
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_rows(rows: pd.DataFrame, folder: Path) -> None:
    """`claims.json` (a list of rows) and `claims.csv` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_json(folder / "claims.json", orient="records", indent=2, force_ascii=False)
    rows.to_csv(folder / "claims.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    from helpers.build import RunFolder, toc_parts  # the build renders this module's page

    parser = argparse.ArgumentParser(
        prog="python -m helpers.book.scorecard", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--profile", default="cpu", help="the run's profile (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    folder = RunFolder.for_run(args.profile, args.seed)
    parts = toc_parts()
    results = {slug: folder.results_dir(slug) / "results.json" for slug in parts}
    missing = [slug for slug, path in results.items() if not path.is_file()]
    if missing:
        print(f"not executed at {args.profile}, seed {args.seed}: {', '.join(missing)}", file=sys.stderr)
    try:
        rows = claim_rows({s: p for s, p in results.items() if s not in missing}, parts)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if rows.empty:
        return 1
    if args.format == "csv":
        rows.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(rows.to_json(orient="records", indent=2, force_ascii=False))
    else:
        table = rows[["section", "id", "verdict", "estimate", "low", "high"]]
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        print(verdict_counts(rows).to_string())
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
