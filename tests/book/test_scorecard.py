"""The scorecard: every section's claims in one table, from the sections' results.json."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers.book.results import Results
from helpers.book.scorecard import claim_rows, scorecard_page, seed_agreement, verdict_counts, write_rows
from helpers.build import RunFolder, current_seeds, toc_notebooks, toc_parts


def section_results(tmp_path, slug, verdicts, seed=0):
    results = Results(slug, "smoke", seed, tmp_path / slug)
    for i, holds in enumerate(verdicts):
        interval = (0.1 * i, 0.1 * i + 0.2) if i % 2 else None
        results.claim(
            f"c{i}",
            f"Claim {i} | piped",
            "p",
            "o",
            criterion="a rule",
            holds=holds,
            estimate=0.1 * i + 0.1,
            interval=interval,
        )
    return tmp_path / slug / "results.json"


@pytest.fixture
def rows(tmp_path):
    results = {
        "tms_intro": section_results(tmp_path, "tms_intro", ["yes", "no"]),
        "wide_saes": section_results(tmp_path, "wide_saes", ["partly", "yes", "yes"]),
    }
    parts = {"tms_intro": "Part I", "wide_saes": "Part II"}
    return claim_rows(results, parts)


def test_every_claim_of_every_section_is_a_row_under_its_part(rows):
    assert list(rows.section) == ["tms_intro"] * 2 + ["wide_saes"] * 3
    assert list(rows.part) == ["Part I"] * 2 + ["Part II"] * 3
    assert list(rows.verdict) == ["yes", "no", "partly", "yes", "yes"]
    assert rows.low.isna().tolist() == [True, False, True, False, True], "intervals only where recorded"
    assert rows.loc[1, "high"] == pytest.approx(0.3)
    counts = verdict_counts(rows)
    assert counts.loc["Part II"].tolist() == [2, 1, 0, 3]
    assert counts.loc["The book"].tolist() == [3, 1, 1, 5]


def test_the_page_links_each_row_to_its_section_and_counts_what_it_lists(rows):
    page = scorecard_page(rows)
    body = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert len(body) == len(rows)
    assert body[0].startswith("| {doc}`notebooks/tms_intro` | Claim 0 \\| piped |"), "pipes escaped"
    assert "| The book | 3 | 1 | 1 | 5 |" in page
    assert "profile `smoke`, seed 0" in page


def test_claims_are_written_as_json_and_csv_that_read_back(rows, tmp_path):
    write_rows(rows, tmp_path / "html")
    assert json.loads((tmp_path / "html" / "claims.json").read_text())[2]["verdict"] == "partly"
    back = pd.read_csv(tmp_path / "html" / "claims.csv")
    assert back.id.tolist() == rows.id.tolist() and back.estimate.tolist() == pytest.approx(rows.estimate)


def test_a_malformed_results_file_is_named(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"notebook": "x", "profile": "smoke", "seed": 0, "metrics": {}}))
    with pytest.raises(ValueError, match="missing keys"):
        claim_rows({"tms_intro": path}, {"tms_intro": "Part I"})


def test_every_section_of_the_contents_has_its_part():
    parts = toc_parts()
    assert list(parts) == toc_notebooks()
    assert all(caption.startswith("Part ") for caption in parts.values())


def test_verdicts_across_seeds_say_which_claims_flip(tmp_path):
    parts = {"tms_intro": "Part I"}
    by_seed = {
        seed: claim_rows(
            {"tms_intro": section_results(tmp_path / str(seed), "tms_intro", verdicts, seed)}, parts
        )
        for seed, verdicts in ((0, ["yes", "no", "yes"]), (1, ["yes", "yes", "yes"]), (2, ["yes", "no"]))
    }
    table = seed_agreement(by_seed)
    assert table.columns.tolist() == ["part", "section", "id", "seed 0", "seed 1", "seed 2", "across seeds"]
    assert table["across seeds"].tolist() == ["agrees", "flips: yes 1, no 2", "agrees"]
    assert table.loc[2, "seed 2"] == "", "a seed without the claim leaves its cell empty"
    alone = seed_agreement({0: by_seed[0], 1: by_seed[0].iloc[:0]})
    assert set(alone["across seeds"]) == {"one seed only"}, "one run cannot agree with itself"
    page = scorecard_page(by_seed[0], table)
    assert "1 of 3 claims change verdict between seeds" in page
    assert page.count("| flips: yes 1, no 2 |") == 1


def test_the_build_sets_only_current_runs_of_the_same_profile_side_by_side(tmp_path):
    book = tmp_path / "book"
    folder = RunFolder(book / "smoke-seed0")
    for name in ("smoke-seed1", "smoke-seedx", "cpu-seed2"):
        (book / name / "keys").mkdir(parents=True)
    assert (folder.profile, folder.seed) == ("smoke", 0)
    assert list(current_seeds(["tms_intro"], folder)) == [0], "seed 1 has executed nothing"
