import json

import pytest

from helpers.book.results import Results, read_results, verdict


def test_results_json_has_the_shared_shape(tmp_path):
    results = Results("demo", "smoke", 3, tmp_path)
    assert results.metric("count", 2) == 2
    results.metric("ratio", 0.25)
    results.claim(
        "c1",
        "A claim.",
        "paper says",
        "we see",
        criterion="yes if x > 1; partly if x > 0",
        holds="partly",
        estimate=0.5,
    )
    results.claim(
        "c2",
        "Another.",
        "p",
        "o",
        criterion="yes if the interval is above 0",
        holds="yes",
        estimate=0.3,
        interval=(0.1, 0.5),
        control=0.01,
    )
    data = json.loads((tmp_path / "results.json").read_text())
    assert data == {
        "notebook": "demo",
        "profile": "smoke",
        "seed": 3,
        "metrics": {"count": 2, "ratio": 0.25},
        "claims": [
            {
                "id": "c1",
                "claim": "A claim.",
                "paper": "paper says",
                "ours": "we see",
                "criterion": "yes if x > 1; partly if x > 0",
                "holds": "partly",
                "estimate": 0.5,
                "interval": None,
                "control": None,
            },
            {
                "id": "c2",
                "claim": "Another.",
                "paper": "p",
                "ours": "o",
                "criterion": "yes if the interval is above 0",
                "holds": "yes",
                "estimate": 0.3,
                "interval": [0.1, 0.5],
                "control": 0.01,
            },
        ],
    }
    assert read_results(tmp_path / "results.json") == data


def test_numpy_and_torch_scalars_become_plain_numbers(tmp_path):
    import numpy as np
    import torch

    results = Results("demo", "smoke", 0, tmp_path)
    results.metric("a", np.float32(1.5))
    results.metric("b", torch.tensor(3))
    assert read_results(tmp_path / "results.json")["metrics"] == {"a": 1.5, "b": 3}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: r.metric("x", "two"), TypeError, "metric 'x' must be a number"),
        (lambda r: r.metric("x", float("nan")), ValueError, "finite"),
        (lambda r: r.label("x", 2.0), TypeError, "label 'x' must be a string"),
        (lambda r: r.sentence("x", " "), TypeError, "sentence 'x' must be a non-empty string"),
        (
            lambda r: r.claim("c", "claim", "p", "o", criterion="rule", holds="maybe"),
            ValueError,
            "choose one of yes, partly, no",
        ),
        (
            lambda r: r.claim("c", "claim", "p", "o", criterion=" ", holds="yes"),
            ValueError,
            "state its criterion",
        ),
        (
            lambda r: r.claim(
                "c", "claim", "p", "o", criterion="rule", holds="yes", estimate=1, interval=(2, 1)
            ),
            ValueError,
            "give \\[low, high\\]",
        ),
        (
            lambda r: r.claim("c", "claim", "p", "o", criterion="rule", holds="yes", estimate=float("inf")),
            ValueError,
            "finite",
        ),
    ],
)
def test_bad_results_are_refused(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(Results("demo", "smoke", 0, tmp_path))


def test_duplicate_claims_are_refused(tmp_path):
    results = Results("demo", "smoke", 0, tmp_path)
    results.claim("c", "claim", "p", "o", criterion="rule", holds="yes")
    with pytest.raises(ValueError, match="recorded twice"):
        results.claim("c", "claim", "p", "o", criterion="rule", holds="yes")


def test_claim_table_escapes_pipes_and_shows_the_criterion(tmp_path):
    results = Results("demo", "smoke", 0, tmp_path)
    results.claim("c", "a | b", "p", "o", criterion="yes if R² ≥ 0.9", holds="no")
    table = results.claim_table().splitlines()
    assert table[0] == "| Claim | Paper | Ours | Criterion | Holds here? |"
    assert "a \\| b" in table[2] and "yes if R² ≥ 0.9" in table[2] and "✗ no" in table[2]


def test_interval_and_control_columns_appear_when_a_row_has_them(tmp_path):
    results = Results("demo", "smoke", 0, tmp_path)
    results.claim("a", "claim", "p", "o", criterion="rule", holds="yes")
    results.claim(
        "b",
        "claim",
        "p",
        "o",
        criterion="rule",
        holds="partly",
        estimate=0.5,
        interval=(0.25, 0.75),
        control=0.0123,
    )
    header, _, first, second = results.claim_table().splitlines()
    assert header == "| Claim | Paper | Ours | Criterion | Interval | Control | Holds here? |"
    assert first.endswith("| – | – | ✓ yes |") and second.endswith("| [0.25, 0.75] | 0.0123 | ~ partly |")


def test_malformed_results_json_is_detected(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({"notebook": "x", "profile": "smoke", "seed": 0, "metrics": {}, "claims": [{"id": "c"}]})
    )
    with pytest.raises(ValueError, match="malformed claim"):
        read_results(path)
    path.write_text("{}")
    with pytest.raises(ValueError, match="missing keys"):
        read_results(path)


def test_verdict_reads_holds_then_partly():
    assert [verdict(True), verdict(True, True), verdict(False, True), verdict(False)] == [
        "yes",
        "yes",
        "partly",
        "no",
    ]


def test_a_chosen_sentence_is_glued_as_plain_markdown_and_not_recorded(tmp_path, monkeypatch):
    import helpers.book.results as module

    glued = {}
    monkeypatch.setattr(module, "_glue", lambda name, value: glued.update({name: value}))
    results = Results("demo", "smoke", 0, tmp_path)
    assert results.sentence("outcome", "The line stays *flat*.") == "The line stays *flat*."
    assert glued["outcome"].data == "The line stays *flat*."
    assert read_results(tmp_path / "results.json")["metrics"] == {}


def test_an_estimate_records_its_value_and_interval_as_three_metrics(tmp_path):
    results = Results("demo", "smoke", 0, tmp_path)
    assert results.estimate("gap", 0.25, (0.1, 0.4)) == 0.25
    metrics = json.loads((tmp_path / "results.json").read_text())["metrics"]
    assert metrics == {"gap_low": 0.1, "gap_high": 0.4, "gap": 0.25}
    with pytest.raises(ValueError):
        results.estimate("bad", 0.1, (0.0, 0.2, 0.3))
