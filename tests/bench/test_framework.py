import json
import time

import pytest
import torch

from helpers import profiles
from helpers.bench import framework as bench
from helpers.bench.__main__ import BENCHMARKS
from helpers.bench.framework import OUTSIDE_OPERATORS, describe_shares, time_shares
from tests.bench.settings import tiny_settings


def test_table_and_json_hold_every_row(tmp_path):
    rows = [
        bench.Comparison("fast one", "a", 1.0, "b", 8.0, 5.0, {"achieved_gflops": 17.0}),
        bench.Comparison("slow one", "a", 2.0, "b", 3.0, 5.0),
        bench.Comparison(
            "bf16 one", "a", 1.0, "b", 2.0, 1.0, {"achieved_gflops": 200.0, "dtype": "bfloat16"}
        ),
    ]
    ceilings = {"float32": 170.0, "bfloat16": 400.0}
    table = bench.markdown_table(rows, ceilings)
    assert "| fast one |" in table and "8.0×" in table and "17.0 (10.0%) float32" in table
    assert "| slow one |" in table and "1.5×" in table and "| no |" in table
    assert "200.0 (50.0%) bfloat16" in table, "each row's share is of the ceiling in its own dtype"
    path = tmp_path / "bench" / "results.json"
    bench.write_results(rows, ceilings, tiny_settings(), path)
    record = json.loads(path.read_text())
    assert [r["name"] for r in record["rows"]] == ["fast one", "slow one", "bf16 one"]
    assert [r["meets_target"] for r in record["rows"]] == [True, False, True]
    assert [r["ceiling_share"] for r in record["rows"]] == [0.1, None, 0.5]
    assert record["matmul_gflops"] == ceilings


def test_a_share_target_is_met_by_the_ceiling_or_by_the_products_alone():
    ceilings = {"float32": 100.0, "bfloat16": 400.0}

    def row(achieved: float, alone: float | None = None) -> bench.Comparison:
        details = {"achieved_gflops": achieved, "dtype": "bfloat16", "target_share": 0.35}
        if alone is not None:
            details |= {"products_alone_gflops": alone, "target_share_of_products_alone": 0.5}
        return bench.Comparison("r", "a", 1.0, "b", 2.0, 1.0, details)

    assert bench.share_meets_target(row(140.0), ceilings)  # 35% of 400
    assert not bench.share_meets_target(row(139.0), ceilings)
    assert bench.share_meets_target(row(100.0, alone=200.0), ceilings)  # half of what products reach
    assert not bench.share_meets_target(row(99.0, alone=200.0), ceilings)
    assert bench.share_meets_target(bench.Comparison("r", "a", 1.0, "b", 2.0, 1.0), ceilings) is None
    table = bench.markdown_table([row(100.0, alone=200.0)], ceilings)
    assert "ours 50% of them (target ≥ 50%); share target met" in table


def test_unknown_benchmark_names_the_choices():
    with pytest.raises(ValueError, match="unknown benchmark.*nope.*tms_sparsity sweep training"):
        bench.run_benchmarks(BENCHMARKS, tiny_settings(), ["nope"])


def test_rows_run_in_the_order_listed_and_only_those_asked_for():
    ran = []

    def row(name):
        def run(settings):
            ran.append(name)
            return bench.Comparison(name, "a", 1.0, "b", 2.0, 1.0)

        return run

    listed = {name: row(name) for name in ("first", "second", "third")}
    rows = bench.run_benchmarks(listed, tiny_settings(), ["third", "first"])
    assert [r.name for r in rows] == ran == ["first", "third"]


def test_settings_refuse_zero_steps():
    with pytest.raises(ValueError, match="steps = 0"):
        bench.BenchSettings(profiles.load("smoke"), steps=0)


def test_time_shares_find_where_the_time_goes_and_sum_to_one():
    a = torch.randn(384, 384)

    def products_then_a_pause() -> None:
        for _ in range(30):
            a @ a
        a.flatten().topk(5)
        time.sleep(0.2)

    groups = {"products": ("aten::mm",), "selection": ("aten::topk",)}
    shares = time_shares(products_then_a_pause, groups, torch.device("cpu"))
    assert list(shares) == ["products", "selection", "other operators", OUTSIDE_OPERATORS]
    assert sum(shares.values()) == pytest.approx(1)
    assert shares["products"] > shares["selection"] and shares[OUTSIDE_OPERATORS] > 0.2
    assert time_shares(lambda: time.sleep(0.1), groups, torch.device("cpu"))[OUTSIDE_OPERATORS] > 0.95
    ungrouped = time_shares(products_then_a_pause, {"selection": ("aten::topk",)}, torch.device("cpu"))
    assert "aten::mm" in ungrouped and "products" not in ungrouped  # a large ungrouped operator, by name
    assert describe_shares({"a": 0.25, "b": 0.75}) == "b 75%, a 25%"
