"""Recording a notebook's results: glue for the prose, and `results.json` for the tests.

Shape of `results.json` (shared by all notebooks):
`{"notebook", "profile", "seed", "metrics": {name: number}, "claims": [{"id", "claim", "paper",
"ours", "criterion", "holds", "estimate", "interval", "control"}]}`: `criterion` is the rule in
words with its thresholds, `holds` one of yes / partly / no, `estimate` the deciding number (or
null), `interval` its 95% interval `[low, high]` (or null), `control` the control's or null's value
(or null).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.book.paths import cache_root

VERDICTS = ("yes", "partly", "no")
CLAIM_KEYS = ("id", "claim", "paper", "ours", "criterion", "holds", "estimate", "interval", "control")


def _glue(name: str, value: Any) -> None:
    from myst_nb import glue

    glue(name, value, display=False)


def _plain_number(name: str, value: Any) -> int | float:
    if hasattr(value, "item"):  # numpy or torch scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"metric {name!r} is {value}; results must be finite numbers.")
    return value


class Results:
    """Collects one notebook run's metrics and claims; every call also rewrites `results.json`."""

    def __init__(self, notebook: str, profile: str, seed: int, results_dir: str | os.PathLike | None):
        self.notebook = notebook
        self.profile = profile
        self.seed = seed
        folder = Path(results_dir) if results_dir else cache_root() / "interactive" / profile / notebook
        self.path = folder / "results.json"
        self.metrics: dict[str, int | float] = {}
        self.claims: list[dict[str, Any]] = []
        self.save()

    def metric(self, name: str, value: Any) -> int | float:
        """Glue `value` under `name` (quote it in prose as {glue:text}`name`) and record it."""
        number = _plain_number(name, value)
        self.metrics[name] = number
        _glue(name, number)
        self.save()
        return number

    def estimate(self, name: str, value: Any, interval: Sequence[Any]) -> int | float:
        """Record a statistic and its 95% interval as metrics `name`, `name_low` and `name_high`
        (each glued); returns the value."""
        low, high = interval
        self.metric(f"{name}_low", low)
        self.metric(f"{name}_high", high)
        return self.metric(name, value)

    def label(self, name: str, text: str) -> str:
        """Glue a name the run chose (an SAE, a component) under `name`, as inline code: quote it
        in prose as {glue:md}`name`. Names are not metrics, so `results.json` does not record them."""
        if not isinstance(text, str):
            raise TypeError(f"label {name!r} must be a string, got {type(text).__name__}.")
        from IPython.display import Markdown

        _glue(name, Markdown(f"`{text}`"))
        return text

    def sentence(self, name: str, text: str) -> str:
        """Glue a sentence the run chose (e.g. by a claim's verdict) under `name`, as plain Markdown:
        quote it in prose as {glue:md}`name`. Sentences are not metrics: `results.json` does not
        record them."""
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"sentence {name!r} must be a non-empty string, got {text!r}.")
        from IPython.display import Markdown

        _glue(name, Markdown(text))
        return text

    def claim(
        self,
        id: str,
        claim: str,
        paper: str,
        ours: str,
        *,
        criterion: str,
        holds: str,
        estimate: Any = None,
        interval: Sequence[Any] | None = None,
        control: Any = None,
    ) -> None:
        """One row of the page's claim table: the paper's statement beside ours, the rule that decides
        it (`criterion`, in words with its thresholds) and the verdict; `estimate` is the deciding
        number, `interval` its 95% interval and `control` the control's value, where there are any."""
        if holds not in VERDICTS:
            raise ValueError(f"claim {id!r}: holds = {holds!r}; choose one of {', '.join(VERDICTS)}.")
        if not isinstance(criterion, str) or not criterion.strip():
            raise ValueError(f"claim {id!r}: state its criterion, the rule that decides it, in words.")
        if any(row["id"] == id for row in self.claims):
            raise ValueError(f"claim {id!r} is recorded twice.")
        if interval is not None:
            interval = [_plain_number(f"{id}.interval", v) for v in interval]
            if len(interval) != 2 or interval[0] > interval[1]:
                raise ValueError(f"claim {id!r}: interval = {interval}; give [low, high].")
        self.claims.append(
            {
                "id": id,
                "claim": claim,
                "paper": paper,
                "ours": ours,
                "criterion": criterion,
                "holds": holds,
                "estimate": None if estimate is None else _plain_number(f"{id}.estimate", estimate),
                "interval": interval,
                "control": None if control is None else _plain_number(f"{id}.control", control),
            }
        )
        self.save()

    def as_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "profile": self.profile,
            "seed": self.seed,
            "metrics": dict(self.metrics),
            "claims": list(self.claims),
        }

    def save(self) -> None:
        """Write `results.json` atomically, so a reader never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        tmp.replace(self.path)

    def claim_table(self) -> str:
        """The claim table as Markdown (display it with `IPython.display.Markdown`): the criterion
        beside each verdict, and the interval and control columns when any row has one."""
        mark = {"yes": "✓ yes", "partly": "~ partly", "no": "✗ no"}  # in ordinary text fonts, unlike emoji

        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        def number(value: float) -> str:
            return f"{value:.3g}"

        extra = [key for key in ("interval", "control") if any(row[key] is not None for row in self.claims)]
        headers = ["Claim", "Paper", "Ours", "Criterion", *(k.capitalize() for k in extra), "Holds here?"]
        lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        for row in self.claims:
            cells = [cell(row[key]) for key in ("claim", "paper", "ours", "criterion")]
            if "interval" in extra:
                low_high = row["interval"]
                cells.append("–" if low_high is None else f"[{number(low_high[0])}, {number(low_high[1])}]")
            if "control" in extra:
                cells.append("–" if row["control"] is None else number(row["control"]))
            lines.append("| " + " | ".join([*cells, mark[row["holds"]]]) + " |")
        return "\n".join(lines)


def verdict(holds: bool, partly: bool = False) -> str:
    """A claim row's verdict: `yes` when the claim holds, else `partly` or `no`."""
    return "yes" if holds else ("partly" if partly else "no")


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate a `results.json`; raises ValueError naming what is wrong."""
    data = json.loads(Path(path).read_text())
    missing = {"notebook", "profile", "seed", "metrics", "claims"} - set(data)
    if missing:
        raise ValueError(f"{path}: missing keys {sorted(missing)}.")
    for row in data["claims"]:
        if set(row) != set(CLAIM_KEYS) or row["holds"] not in VERDICTS or not row["criterion"].strip():
            raise ValueError(f"{path}: malformed claim {row!r}.")
    return data
