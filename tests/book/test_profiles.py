import dataclasses
import json
import subprocess
import sys

import pytest

from helpers import profiles
from helpers.book.paths import REPO

EVERY_SETTING = [(section, name) for section, cls in profiles.SECTIONS.items() for name in cls.settings()]


def table_rows(table: str) -> dict[str, list[str]]:
    """A Markdown table's body as {setting: cells}, the header under the key "header"."""
    lines = [line.strip("|").split(" | ") for line in table.splitlines()]
    header, rule, *body = [[cell.strip() for cell in line] for line in lines]
    assert set(rule) == {"---"}
    return {"header": header} | {row[0].strip("`"): row for row in body}


def test_every_profile_resolves_and_is_frozen():
    for name in profiles.PROFILES:
        config = profiles.load(name)
        assert config.name == name
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.toy.steps = 1  # type: ignore[misc]


def test_the_sections_are_the_profile_s_fields():
    settings_fields = {f.name for f in dataclasses.fields(profiles.Profile)} - {
        "name",
        "description",
        "device",
    }
    assert set(profiles.SECTIONS) == settings_fields
    for name, cls in profiles.SECTIONS.items():
        assert cls.SECTION == name


@pytest.mark.parametrize(("section", "name"), EVERY_SETTING, ids=[f"{s}.{n}" for s, n in EVERY_SETTING])
def test_every_setting_declares_a_meaning_and_refuses_a_value_of_no_kind(section, name):
    declared = profiles.SECTIONS[section].settings()[name]
    assert declared.doc.strip() and declared.check.allowed.strip()
    default = profiles.SECTIONS[section]()
    assert declared.check.holds(getattr(default, name))
    with pytest.raises(
        profiles.ConfigError, match=rf"^{section}\.{name} = None is not allowed: {section}\.{name} must be "
    ):
        dataclasses.replace(default, **{name: None})


def test_the_paper_profile_is_the_defaults():
    paper = profiles.load("paper")
    for name, cls in profiles.SECTIONS.items():
        assert getattr(paper, name) == cls(), name


def test_unknown_profile_names_the_choices():
    with pytest.raises(profiles.ConfigError, match="unknown profile 'nope': choose one of smoke, cpu, paper"):
        profiles.load("nope")


def test_override_changes_only_what_it_names():
    config = profiles.load("smoke", {"toy.steps": 7, "toy.lr": 1})
    base = profiles.load("smoke")
    assert config.toy.steps == 7 and config.toy.lr == 1.0 and isinstance(config.toy.lr, float)
    assert config.toy.batch_size == base.toy.batch_size and config.tms_intro == base.tms_intro


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"toy.stepz": 1}, "unknown override 'toy.stepz': section 'toy' has"),
        ({"nosuch.steps": 1}, "unknown override 'nosuch.steps': the profile has"),
        ({"toy": 1}, "names a whole section"),
        ({"device.x": 1}, "'device' has no fields"),
        ({"toy.steps": 2.5}, "has type float; expected int"),
        ({"toy.steps": True}, "has type bool; expected int"),
        ({"lm.compiled": 1}, "has type int; expected bool"),
    ],
)
def test_bad_override_names_and_types_are_refused(overrides, message):
    with pytest.raises(profiles.ConfigError, match=message):
        profiles.load("cpu", overrides)


@pytest.mark.parametrize(
    ("dotted", "value", "allowed"),
    [
        ("toy.steps", 0, "a positive integer"),
        ("toy.lr", -1e-3, "a positive finite number"),
        ("tms_sparsity.reference_seeds", -1, r"a non-negative integer \(0 skips"),
        ("tms_geometry.n_sparsities", 1, "an integer of at least 2"),
        ("error_components.min_firings", 19, "an integer of at least 20"),
        ("tms_intro.n_hidden", 3, "2 "),
        ("tms_intro.min_probability", 2.0, r"a number in \(0, 1\]"),
        ("tms_geometry.max_inverse_density", 1.0, r"a number in \(1, inf\)"),
        ("decomposition.train_fraction", 0.95, r"a number in \[0.1, 0.9\]"),
        ("modeling_activations.bernoulli_probability", 1.0, r"a number in \(0, 1\)"),
        ("lm.dtype", "float16", "one of auto, float32, bfloat16"),
        ("lm.corpus", "web", "one of registry, pile"),
        ("sae_suite.source", "gemma-scope-27b", "one of ours, gemma-scope-2-270m, gemma-scope-9b"),
        ("lm.model", "gemma-3-27b", "a packaged model"),
        ("tms_sparsity.sparsities", (0.9, 0.5), "at least two increasing floats in"),
        ("tms_sparsity.sparsities", (0.0, 1.0), "at least two increasing floats in"),
        ("tms_sparsity.sparsities", (0.5,), "at least two increasing floats in"),
        ("tms_sparsity.sparsities", (0, 0.5), "at least two increasing floats in"),
        ("tms_computation.probabilities", (0.1, 0.3), "at least two decreasing floats"),
        ("tms_correlated.probabilities", (0.6, 0.1), r"decreasing floats in \(0, 0.5\]"),
        ("tms_correlated.probabilities", (), r"decreasing floats in \(0, 0.5\]"),
        ("sae_suite.widths", (), "non-empty increasing positive integers"),
        ("sae_suite.jumprelu_widths", (1024, 512), "increasing positive integers"),
        ("modeling_activations.poisson_rates", (1.0, -1.0), "non-empty positive rates"),
        ("modeling_activations.mask_shares", (0.1, 0.2), "at least two increasing shares in"),
        ("modeling_activations.mask_shares", (0.0, 0.5, 0.5), "at least two increasing shares in"),
        ("device", "tpu", "one of auto, cpu, cuda"),
        ("toy.lr", float("inf"), "a positive finite number"),
        ("toy.lr", float("nan"), "a positive finite number"),
        ("tms_geometry.max_inverse_density", float("inf"), r"a number in \(1, inf\)"),
        ("modeling_activations.poisson_rates", (1.0, float("inf")), "non-empty positive rates"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_the_setting(dotted, value, allowed):
    with pytest.raises(
        profiles.ConfigError, match=rf"^{dotted} = .* is not allowed: {dotted} must be {allowed}"
    ):
        profiles.load("cpu", {dotted: value})


CROSS_FIELD_VIOLATIONS = [  # (the setting blamed, overrides of the cpu profile, what it must be)
    ("tms_intro.n_features", {"tms_intro.n_features": 2}, "larger than tms_intro.n_hidden = 2"),
    ("tms_sparsity.n_features", {"tms_sparsity.n_hidden": 20}, "larger than tms_sparsity.n_hidden = 20"),
    (
        "tms_sparsity.reference_features",
        {"tms_sparsity.reference_hidden": 100},
        "larger than tms_sparsity.reference_hidden = 100",
    ),
    (
        "tms_computation.n_features",
        {"tms_computation.n_neurons": 20},
        "larger than tms_computation.n_neurons",
    ),
    (
        "tms_computation.basis_features",
        {"tms_computation.basis_neurons": 10},
        "larger than tms_computation.basis_neurons = 10",
    ),
    ("tms_geometry.n_features", {"tms_geometry.n_hidden": 50}, "larger than tms_geometry.n_hidden = 50"),
    (
        "tms_correlated.check_probability",
        {"tms_correlated.check_probability": 0.07},
        r"one of tms_correlated.probabilities = \(0.3, ",
    ),
    (
        "tms_correlated.max_correlated_pairs",
        {"tms_correlated.max_correlated_pairs": 2},
        "larger than tms_correlated.n_pairs = 2",
    ),
    ("toy_sae.samples", {"toy_sae.samples": 4095}, "at least toy_sae.batch_size = 4096"),
    ("lm.keep_from", {"lm.keep_from": 255}, "below lm.context_length - 1 = 255"),
    ("lm.train_keep_from", {"lm.train_keep_from": 300}, "below lm.context_length - 1 = 255"),
    ("lm.ce_contexts", {"lm.ce_contexts": 129}, "at most lm.analysis_contexts = 128"),
    ("lm.loss_contexts", {"lm.loss_contexts": 129}, "at most lm.analysis_contexts = 128"),
    ("lm.position_contexts", {"lm.position_contexts": 129}, "at most lm.analysis_contexts = 128"),
    ("sae_suite.ks", {"sae_suite.ks": (16, 1024)}, "each at most the smallest of sae_suite.widths"),
    (
        "sae_suite.jumprelu_l0",
        {"sae_suite.jumprelu_l0": 513},
        r"at most the smallest of sae_suite.jumprelu_widths = \(512,",
    ),
    ("sae_suite.line_widths", {"sae_suite.line_widths": (1024, 8192)}, "none of sae_suite.widths"),
    ("sae_suite.line_widths", {"sae_suite.line_widths": (32,)}, "none of .*, each at least the largest of"),
    ("sae_suite.neighbour_k", {"sae_suite.neighbour_k": 2048}, "at most sae_suite.neighbour_width = 1024"),
    ("sae_suite.samples", {"sae_suite.samples": 100}, "at least sae_suite.batch_size = 512"),
    (
        "modeling_activations.synthetic_l0",
        {"modeling_activations.synthetic_l0": 4097},
        "at most modeling_activations.synthetic_width = 4096",
    ),
    (
        "modeling_activations.random_l0",
        {"modeling_activations.random_l0": 4096},
        "below modeling_activations.random_vectors = 4096",
    ),
    (
        "modeling_activations.theory_features",
        {"modeling_activations.theory_features": 513},
        "at most modeling_activations.theory_dim = 512",
    ),
    (
        "error_components.plateau_every",
        {"error_components.plateau_every": 600_001},
        "at most error_components.component_sae_samples = 600000",
    ),
    (
        "ground_truth_dark_matter.analysis_tokens",
        {"ground_truth_dark_matter.analysis_tokens": 999},
        "at least 10 blocks of ground_truth_dark_matter.block_tokens = 100",
    ),
    (
        "ground_truth_dark_matter.absent_firings",
        {"ground_truth_dark_matter.absent_firings": 60_000},
        r"below ground_truth_dark_matter.samples = 60000 \(a frequency below 1\)",
    ),
]


@pytest.mark.parametrize(("blamed", "overrides", "allowed"), CROSS_FIELD_VIOLATIONS)
def test_cross_field_rules_refuse(blamed, overrides, allowed):
    with pytest.raises(profiles.ConfigError, match=rf"^{blamed} = .* must be {allowed}"):
        profiles.load("cpu", overrides)


def test_every_cross_field_rule_is_exercised_above():
    declared = {f"{section}.{rule.name}" for section, cls in profiles.SECTIONS.items() for rule in cls.RULES}
    assert declared == {blamed for blamed, _, _ in CROSS_FIELD_VIOLATIONS}


def test_a_rule_across_sections_refuses_naming_both_settings():
    with pytest.raises(
        profiles.ConfigError,
        match=r"^decomposition.passage_context = 128 .* below lm.analysis_contexts = 128",
    ):
        profiles.load("cpu", {"decomposition.passage_context": 128})


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (("cpu", "abc", None, {}), "SEED = 'abc' is not allowed: SEED must be a non-negative integer"),
        (("cpu", 1.5, None, {}), "SEED = 1.5 is not allowed"),
        (("cpu", -1, None, {}), "SEED = -1 is not allowed"),
        (("cpu", True, None, {}), "SEED = True is not allowed"),
        (("cpu", 0, "", {}), "RESULTS_DIR = '' is not allowed"),
        (("cpu", 0, 3, {}), "RESULTS_DIR = 3 is not allowed"),
        ((None, 0, None, {}), "unknown profile None"),
        (("cpu", 0, None, "{bad"), "OVERRIDES = '{bad' is not valid JSON"),
        (("cpu", 0, None, "[1]"), "OVERRIDES = \\[1\\] is not allowed"),
        (("cpu", 0, None, '{"toy.nope": 1}'), "unknown override 'toy.nope'"),
        (("cpu", 0, None, '{"toy.lr": Infinity}'), "toy.lr = inf is not allowed"),
    ],
)
def test_notebook_parameters_are_checked_naming_the_parameter(parameters, message):
    with pytest.raises(profiles.ConfigError, match=message):
        profiles.notebook_parameters(*parameters)


def test_overrides_may_be_a_json_string_as_papermill_passes_them():
    as_text = profiles.notebook_parameters("cpu", 0, None, '{"toy.steps": 20, "sae_suite.ks": [4, 8]}')
    as_dict = profiles.notebook_parameters("cpu", 0, None, {"toy.steps": 20, "sae_suite.ks": [4, 8]})
    assert as_text == as_dict and as_text.toy.steps == 20 and as_text.sae_suite.ks == (4, 8)
    assert profiles.notebook_parameters("cpu", 0, None, None) == profiles.load("cpu")
    assert profiles.notebook_parameters("cpu", 0, None, "") == profiles.load("cpu")


def test_cpu_device_resolves():
    assert profiles.load("cpu", {"device": "cpu"}).torch_device().type == "cpu"


def test_profile_check_runs_without_third_party_packages():
    """`make book PROFILE=nope` validates with the bare interpreter, before any set-up."""
    bad = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "nope"], cwd=REPO, capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: unknown profile 'nope'")
    good = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "cpu"], cwd=REPO, capture_output=True, text=True
    )
    assert good.returncode == 0
    assert json.loads(good.stdout) == json.loads(json.dumps(profiles.load("cpu").as_dict()))


def test_list_overrides_become_tuples():
    config = profiles.load("smoke", {"tms_sparsity.sparsities": [0.0, 0.9]})
    assert config.tms_sparsity.sparsities == (0.0, 0.9)


def test_language_model_names_are_checked_before_anything_loads():
    with pytest.raises(profiles.ConfigError, match="lm.model.*packaged model"):
        profiles.load("cpu", {"lm.model": "gemma-3-27b"})
    assert profiles.load("cpu", {"lm.model": "google/gemma-2-2b"}).lm.model == "google/gemma-2-2b"


def differing(a: profiles.Profile, b: profiles.Profile) -> set[str]:
    """The settings whose values differ between two profiles, from their plain dictionaries."""
    a_dict, b_dict = a.as_dict(), b.as_dict()
    return {
        f"{section}.{name}"
        for section in profiles.SECTIONS
        for name in a_dict[section]
        if a_dict[section][name] != b_dict[section][name]
    }


def marked(rows: dict[str, list[str]]) -> set[str]:
    return {setting for setting, cells in rows.items() if setting != "header" and cells[-1] == "≠"}


def test_the_table_has_a_row_per_setting_and_marks_where_the_first_column_departs():
    smoke, paper = profiles.load("smoke"), profiles.load("paper")
    rows = table_rows(profiles.markdown_table({"this run (smoke)": smoke, "paper": paper}))
    assert rows.pop("header")[2:4] == ["this run (smoke)", "paper"]
    assert sorted(rows) == sorted(f"{s}.{n}" for s, n in EVERY_SETTING)
    assert marked(rows) == differing(smoke, paper)
    assert all(cells[1] for cells in rows.values())  # a meaning on every row


def test_the_table_marks_the_named_column_against_the_named_profile():
    columns = {name: profiles.load(name) for name in profiles.PROFILES}
    rows = table_rows(profiles.markdown_table(columns, departs_from="cpu", mark="smoke"))
    assert marked(rows) == differing(columns["smoke"], columns["cpu"])


def test_the_table_formats_values_for_reading():
    config = profiles.load("cpu", {"lm.compiled": False})
    rows = table_rows(profiles.markdown_table({"cpu": config}, sections=["toy", "sae_suite", "lm"]))
    assert rows["toy.steps"][2] == "10,000" and rows["toy.lr"][2] == "0.001"
    assert rows["sae_suite.widths"][2] == "512, 1024, 2048, 4096" and rows["lm.compiled"][2] == "no"


def test_the_table_keeps_to_the_sections_asked_for_in_their_order():
    paper = profiles.load("paper")
    rows = table_rows(profiles.markdown_table({"paper": paper}, sections=["lm", "toy"]))
    header = rows.pop("header")
    assert header == ["setting", "meaning", "paper"]  # nothing to mark: the column is the paper
    assert list(dict.fromkeys(s.partition(".")[0] for s in rows)) == ["lm", "toy"]
    with pytest.raises(profiles.ConfigError, match="unknown section 'nope'"):
        profiles.markdown_table({"paper": paper}, sections=["nope"])


def test_the_table_without_a_reference_has_no_mark_column():
    rows = table_rows(profiles.markdown_table({"cpu": profiles.load("cpu")}, departs_from=None))
    assert rows["header"] == ["setting", "meaning", "cpu"]


def test_the_command_line_table_shows_three_profiles_and_marks_cpu():
    out = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "--table"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = table_rows(out)
    assert rows["header"] == ["setting", "meaning", "smoke", "cpu", "paper", "cpu ≠ paper"]
    assert marked(rows) == differing(profiles.load("cpu"), profiles.load("paper"))
    lm_only = subprocess.run(
        [sys.executable, "-S", "-m", "helpers.profiles", "--table", "--section", "lm"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert {s.partition(".")[0] for s in table_rows(lm_only) if s != "header"} == {"lm"}
