"""Comparing two runs of the book: metrics within a tolerance, verdicts exactly, timings aside."""

from __future__ import annotations

import json

from helpers.book import compare
from helpers.book.results import Results


def _run(folder, fvu: float, seconds: float, holds: str, sections=("alpha", "beta")):
    for slug in sections:
        results = Results(slug, "smoke", 0, folder / slug)
        results.metric("fvu", fvu)
        results.metric("train_seconds", seconds)
        results.claim("small", "FVU is small", "0.1", f"{fvu}", criterion="yes if FVU < 0.2", holds=holds)
    return folder


def test_identical_runs_agree_and_timings_are_left_aside(tmp_path, capsys):
    a = _run(tmp_path / "a", 0.15, 3.0, "yes")
    b = _run(tmp_path / "b", 0.15, 9.0, "yes")
    found = compare.compare_runs(a, b)
    assert (found.metrics, found.claims, found.metric_differences, found.agrees) == (2, 2, [], True)
    assert compare.main([str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip() == (
        "2 metrics compared, 0 differ beyond rtol 0; 2 claims compared, 0 verdicts differ."
    )


def test_a_moved_metric_is_listed_and_a_changed_verdict_fails(tmp_path, capsys):
    a = _run(tmp_path / "a", 0.15, 3.0, "yes")
    b = _run(tmp_path / "b", 0.150001, 3.0, "yes")
    assert compare.compare_runs(a, b).metric_differences == [
        "alpha: fvu 0.15 vs 0.150001",
        "beta: fvu 0.15 vs 0.150001",
    ]
    assert compare.compare_runs(a, b, rtol=1e-4).metric_differences == []
    c = _run(tmp_path / "c", 0.15, 3.0, "partly")
    assert compare.main([str(a), str(c)]) == 1
    assert "alpha: small yes vs partly" in capsys.readouterr().out


def test_a_missing_section_or_an_empty_folder_is_named(tmp_path, capsys):
    a = _run(tmp_path / "a", 0.15, 3.0, "yes")
    b = _run(tmp_path / "b", 0.15, 3.0, "yes", sections=("alpha",))
    found = compare.compare_runs(a, b)
    assert found.missing == [f"beta: only in {a}"] and not found.agrees
    (tmp_path / "empty").mkdir()
    assert compare.main([str(a), str(tmp_path / "empty")]) == 2
    assert "holds no <section>/results.json" in capsys.readouterr().err


def test_runs_from_before_a_change_of_the_claims_other_fields_still_compare(tmp_path):
    a = _run(tmp_path / "a", 0.15, 3.0, "yes")
    old = json.loads((a / "alpha" / "results.json").read_text())
    old["claims"] = [{"id": "small", "claim": "FVU is small", "paper": "0.1", "ours": "0.15", "holds": "yes"}]
    (a / "alpha" / "results.json").write_text(json.dumps(old))
    assert compare.compare_runs(a, _run(tmp_path / "b", 0.15, 3.0, "yes")).agrees


def test_a_damaged_results_file_is_one_error_line(tmp_path, capsys):
    a = _run(tmp_path / "a", 0.15, 3.0, "yes")
    b = _run(tmp_path / "b", 0.15, 3.0, "yes")
    (b / "beta" / "results.json").write_text('{"metrics": {"fvu": 0.1')
    assert compare.main([str(a), str(b)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {b / 'beta' / 'results.json'}")
    (b / "beta" / "results.json").write_text('{"metrics": {}, "claims": ["small"]}')
    assert compare.main([str(a), str(b)]) == 2
    assert "is not a section's results.json" in capsys.readouterr().err


def test_a_metric_that_is_nan_in_both_runs_agrees_and_in_one_differs():
    assert compare._close(float("nan"), float("nan"), 0.0)
    assert not compare._close(float("nan"), 0.15, 1.0)
    assert not compare._close(0.15, float("nan"), 1.0)
