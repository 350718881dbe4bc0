"""The book's profiles (`smoke`, `cpu`, `paper`) in one place, resolved into frozen, validated configs.

A notebook calls `load(PROFILE, OVERRIDES)`; overrides are dotted names such as
`{"toy.steps": 2000}`. Unknown profiles, unknown names and impossible values fail at once,
naming the parameter and what is allowed. This module needs only the standard library, so
`python -m helpers.profiles NAME` checks a profile name before anything is installed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class ConfigError(ValueError):
    """A profile name, override or value that cannot be used."""


def _require(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{name} = {value!r} is not allowed: {name} must be {allowed}.")


def _positive_int(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _require(
            isinstance(value, int) and not isinstance(value, bool) and value > 0,
            f"{type(obj).SECTION}.{name}",
            value,
            "a positive integer",
        )


def _positive_float(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _require(
            isinstance(value, int | float) and not isinstance(value, bool) and value > 0,
            f"{type(obj).SECTION}.{name}",
            value,
            "a positive number",
        )


@dataclass(frozen=True)
class ToyTraining:
    """How every toy model of Part I is trained (ref: AdamW, lr 1e-3, batch 1024, 10k steps)."""

    SECTION = "toy"
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    seeds_per_setting: int = 5
    eval_samples: int = 20_000
    log_every: int = 100

    def __post_init__(self) -> None:
        _positive_int(self, "steps", "batch_size", "seeds_per_setting", "eval_samples", "log_every")
        _positive_float(self, "lr")


@dataclass(frozen=True)
class TmsIntro:
    """Five features in two dimensions (Toy Models of Superposition, first figure)."""

    SECTION = "tms_intro"
    n_features: int = 5
    n_hidden: int = 2
    importance_decay: float = 0.9
    n_probabilities: int = 10
    min_probability: float = 0.05

    def __post_init__(self) -> None:
        _positive_int(self, "n_features", "n_hidden", "n_probabilities")
        _positive_float(self, "importance_decay", "min_probability")
        _require(
            self.n_hidden == 2,
            "tms_intro.n_hidden",
            self.n_hidden,
            "2 (the section draws each feature as an arrow in the plane)",
        )
        _require(
            self.n_features > self.n_hidden,
            "tms_intro.n_features",
            self.n_features,
            f"larger than tms_intro.n_hidden = {self.n_hidden}",
        )
        _require(self.min_probability <= 1, "tms_intro.min_probability", self.min_probability, "in (0, 1]")


@dataclass(frozen=True)
class TmsSparsity:
    """Superposition as sparsity grows, linear vs ReLU (Toy Models of Superposition, n=20, m=5),
    plus the reference code's 100 features in 20 dimensions (`reference_seeds = 0` skips it)."""

    SECTION = "tms_sparsity"
    n_features: int = 20
    n_hidden: int = 5
    importance_decay: float = 0.7
    sparsities: tuple[float, ...] = (0.0, 0.7, 0.9, 0.97, 0.99, 0.999)
    reference_features: int = 100
    reference_hidden: int = 20
    reference_seeds: int = 10

    def __post_init__(self) -> None:
        _positive_int(self, "n_features", "n_hidden", "reference_features", "reference_hidden")
        _positive_float(self, "importance_decay")
        _require(
            self.n_features > self.n_hidden,
            "tms_sparsity.n_features",
            self.n_features,
            f"larger than tms_sparsity.n_hidden = {self.n_hidden}",
        )
        _require(
            self.reference_features > self.reference_hidden,
            "tms_sparsity.reference_features",
            self.reference_features,
            f"larger than tms_sparsity.reference_hidden = {self.reference_hidden}",
        )
        _require(
            self.importance_decay <= 1, "tms_sparsity.importance_decay", self.importance_decay, "in (0, 1]"
        )
        s = self.sparsities
        _require(
            len(s) >= 2 and all(isinstance(v, float) and 0 <= v < 1 for v in s) and list(s) == sorted(set(s)),
            "tms_sparsity.sparsities",
            s,
            "at least two increasing floats in [0, 1)",
        )
        _require(
            isinstance(self.reference_seeds, int) and self.reference_seeds >= 0,
            "tms_sparsity.reference_seeds",
            self.reference_seeds,
            "a non-negative integer (0 skips the 100-feature model)",
        )


@dataclass(frozen=True)
class TmsComputation:
    """Computation in superposition: `|x|` through a hidden ReLU layer (ref: 100 features, 40 neurons),
    plus the privileged-basis model `h = ReLU(W x)` (10 features, 5 neurons). Both train with their
    own steps, batch and learning rate: the sparsest settings need many samples to see each feature."""

    SECTION = "tms_computation"
    n_features: int = 100
    n_neurons: int = 40
    importance_decay: float = 0.8
    probabilities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    basis_features: int = 10
    basis_neurons: int = 5
    basis_steps: int = 10_000
    probe_points: int = 41

    def __post_init__(self) -> None:
        _positive_int(
            self, "n_features", "n_neurons", "steps", "batch_size", "basis_features", "basis_neurons"
        )
        _positive_int(self, "basis_steps", "probe_points")
        _positive_float(self, "importance_decay", "lr")
        for many, few in (("n_features", "n_neurons"), ("basis_features", "basis_neurons")):
            _require(
                getattr(self, many) > getattr(self, few),
                f"tms_computation.{many}",
                getattr(self, many),
                f"larger than tms_computation.{few} = {getattr(self, few)}",
            )
        _require(
            self.importance_decay <= 1, "tms_computation.importance_decay", self.importance_decay, "in (0, 1]"
        )
        p = self.probabilities
        _require(
            len(p) >= 2
            and all(isinstance(v, float) and 0 < v <= 1 for v in p)
            and list(p) == sorted(set(p), reverse=True),
            "tms_computation.probabilities",
            p,
            "at least two decreasing floats in (0, 1] (dense to sparse)",
        )


@dataclass(frozen=True)
class TmsGeometry:
    """Fractional dimensionality and uniform polytopes: uniform importance, many features (ref: 200
    in 20 dimensions), feature probability log-spaced from 1 down to `1 / max_inverse_density`.
    Trains with its own seeds, steps, batch and learning rate: each instance is far larger than in
    the other sections, and the dimensionality curve averages over many features."""

    SECTION = "tms_geometry"
    n_features: int = 200
    n_hidden: int = 20
    n_sparsities: int = 20
    max_inverse_density: float = 100.0
    seeds_per_setting: int = 10
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3

    def __post_init__(self) -> None:
        _positive_int(self, "n_features", "n_hidden", "n_sparsities", "seeds_per_setting")
        _positive_int(self, "steps", "batch_size")
        _positive_float(self, "max_inverse_density", "lr")
        _require(
            self.n_features > self.n_hidden,
            "tms_geometry.n_features",
            self.n_features,
            f"larger than tms_geometry.n_hidden = {self.n_hidden}",
        )
        _require(self.n_sparsities >= 2, "tms_geometry.n_sparsities", self.n_sparsities, "at least 2")
        _require(
            self.max_inverse_density > 1,
            "tms_geometry.max_inverse_density",
            self.max_inverse_density,
            "larger than 1 (1 / the sparsest feature probability)",
        )


@dataclass(frozen=True)
class TmsCorrelated:
    """Correlated and anticorrelated feature pairs in two dimensions, uniform importance (ref: ARENA's
    version of the paper's experiment). `n_pairs` pairs of each kind train at every probability;
    models with up to `max_correlated_pairs` correlated pairs show the collapse at `check_probability`.
    The lowest-loss seed is picked on `eval_samples` fresh samples: at small probabilities the right
    and the wrong anticorrelated pairing differ in loss by less than the noise of a smaller sample."""

    SECTION = "tms_correlated"
    n_pairs: int = 2
    probabilities: tuple[float, ...] = (0.3, 0.1, 0.05, 0.02)
    check_probability: float = 0.05
    max_correlated_pairs: int = 5
    steps: int = 10_000
    lr: float = 1e-3
    eval_samples: int = 200_000

    def __post_init__(self) -> None:
        _positive_int(self, "n_pairs", "max_correlated_pairs", "steps", "eval_samples")
        _positive_float(self, "check_probability", "lr")
        p = self.probabilities
        _require(
            len(p) >= 1
            and all(isinstance(v, float) and 0 < v <= 0.5 for v in p)
            and list(p) == sorted(set(p), reverse=True),
            "tms_correlated.probabilities",
            p,
            "decreasing floats in (0, 0.5] (an anticorrelated pair fires with twice its probability)",
        )
        _require(
            self.check_probability in p,
            "tms_correlated.check_probability",
            self.check_probability,
            f"one of tms_correlated.probabilities = {p}",
        )
        _require(
            self.max_correlated_pairs > self.n_pairs,
            "tms_correlated.max_correlated_pairs",
            self.max_correlated_pairs,
            f"larger than tms_correlated.n_pairs = {self.n_pairs}",
        )


@dataclass(frozen=True)
class TmsPhase:
    """The phase change: two features in one dimension on a grid of the extra feature's relative
    importance (`10^[-1, 1]`) by the density of both features (`10^[-2, 0]`). The model is small and
    quick to converge, so this section trains with its own steps, batch and learning rate (the
    paper's by default) and spends the saved time on the grid."""

    SECTION = "tms_phase"
    n_importances: int = 50
    n_densities: int = 50
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3

    def __post_init__(self) -> None:
        _positive_int(self, "n_importances", "n_densities", "steps", "batch_size")
        _positive_float(self, "lr")
        for name in ("n_importances", "n_densities"):
            _require(getattr(self, name) >= 3, f"tms_phase.{name}", getattr(self, name), "at least 3")


DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ToySaes:
    """How every toy SAE of Part II trains (the post: Adam, lr 3e-4, batch 4096, up to 1e8 samples;
    the activation-orthogonality runs 1.5e8 samples, lambda 10,000, a delay and a warm-up of a
    third each). `seeds` SAEs of each kind train at once on the same batches. The L1 coefficient
    depends on the setting: `l1_coefficient` for features of magnitude 1; `wide_l1_coefficient`
    for the wide SAEs, whose spare latents die at a rate the L1 sets; `narrow_l1_coefficient` for
    the 20 features of magnitudes 20 to 1, strong enough that an untied SAE's latents stop being
    rotated mixtures within our shorter training; `superposition_l1_coefficient` for those 20
    features in 19 dimensions (the post raises its coefficient there, to 1e-2; ours stays at the
    narrow coefficient, which our shorter training needs). `jump_relu_run` adds the post's optional
    JumpReLU variant of the fix, `weak_firings_only_run` the other reading of its loss."""

    SECTION = "toy_sae"
    samples: int = 100_000_000
    orthogonality_samples: int = 150_000_000
    batch_size: int = 4096
    lr: float = 3e-4
    seeds: int = 3
    l1_coefficient: float = 1e-2
    wide_l1_coefficient: float = 3e-2
    narrow_l1_coefficient: float = 1e-1
    superposition_l1_coefficient: float = 1e-1
    orthogonality_coefficient: float = 10_000.0
    jump_relu_run: bool = True
    weak_firings_only_run: bool = True
    eval_samples: int = 100_000

    def __post_init__(self) -> None:
        _positive_int(self, "samples", "orthogonality_samples", "batch_size", "seeds", "eval_samples")
        _positive_float(self, "lr", "l1_coefficient", "wide_l1_coefficient", "narrow_l1_coefficient")
        _positive_float(self, "superposition_l1_coefficient")
        _positive_float(self, "orthogonality_coefficient")
        _require(
            self.samples >= self.batch_size,
            "toy_sae.samples",
            self.samples,
            f"at least one batch ({self.batch_size})",
        )


DTYPES = ("float32", "bfloat16")
PACKAGED_MODELS = (
    "gemma-3-270m",
    "smollm2-135m",
)  # helpers.lm.model.PACKAGED_MODELS; a test keeps them equal
CORPORA = ("registry", "pile")


@dataclass(frozen=True)
class LanguageModelData:
    """The language model of Parts III-IV and the activations harvested from it. `model` is a
    packaged model (`gemma-3-270m`, `smollm2-135m`) or a hub id; the site is the residual stream
    after `layer`. Contexts of `context_length` tokens are drawn from the corpus (`registry`: the npm
    packages' English text; `pile`: the Pile, streamed, needs a hub); the first `keep_from`
    positions of each are dropped from every measurement; the SAEs train on every position but
    the first (`train_keep_from`). Tokens whose residual norm exceeds `outlier_norm_ratio` times the
    median (massive activations: a few per thousand in Gemma 3, at 6-15 times the median, while
    every other token is below twice it) are left out of both, as the first positions are.
    `train_contexts` feed the SAE suite, the disjoint `analysis_contexts` (harvested with the
    model's per-token loss) every measurement, and the first `ce_contexts` of those the spliced
    cross-entropy; the first `position_contexts` are also harvested with every position kept, to
    show why the first ones are dropped. `dtype` is the
    model's: bf16 where it changes nothing that the book measures (TOOLCHAIN.md). `compiled`
    runs its blocks through `torch.compile`: 1.5x the harvest rate, for ten seconds of compiling
    per process."""

    SECTION = "lm"
    model: str = "gemma-3-270m"
    layer: int = 9
    dtype: str = "bfloat16"
    compiled: bool = True
    corpus: str = "registry"
    context_length: int = 256
    keep_from: int = 32
    train_keep_from: int = 1
    outlier_norm_ratio: float = 3.0
    train_contexts: int = 700
    analysis_contexts: int = 160
    ce_contexts: int = 8
    position_contexts: int = 32
    batch_contexts: int = 16
    corpus_seed: int = 0

    def __post_init__(self) -> None:
        _positive_int(self, "layer", "context_length", "train_contexts", "analysis_contexts")
        _positive_int(self, "ce_contexts", "position_contexts", "batch_contexts")
        _positive_float(self, "outlier_norm_ratio")
        _require(self.dtype in DTYPES, "lm.dtype", self.dtype, f"one of {', '.join(DTYPES)}")
        _require(self.corpus in CORPORA, "lm.corpus", self.corpus, f"one of {', '.join(CORPORA)}")
        _require(
            self.model in PACKAGED_MODELS or "/" in self.model,
            "lm.model",
            self.model,
            f"a packaged model ({', '.join(PACKAGED_MODELS)}) or a hub id such as google/gemma-2-9b",
        )
        _require(
            isinstance(self.keep_from, int) and 0 <= self.keep_from < self.context_length - 1,
            "lm.keep_from",
            self.keep_from,
            f"an integer in [0, lm.context_length - 1 = {self.context_length - 1})",
        )
        _require(
            isinstance(self.train_keep_from, int) and 0 <= self.train_keep_from < self.context_length - 1,
            "lm.train_keep_from",
            self.train_keep_from,
            f"an integer in [0, lm.context_length - 1 = {self.context_length - 1})",
        )
        for name in ("ce_contexts", "position_contexts"):
            _require(
                getattr(self, name) <= self.analysis_contexts,
                f"lm.{name}",
                getattr(self, name),
                f"at most lm.analysis_contexts = {self.analysis_contexts}",
            )


SAE_SOURCES = ("ours", "gemma-scope-2-270m", "gemma-scope-9b")


@dataclass(frozen=True)
class SaeSuite:
    """The SAEs of Parts III-IV. `source = "ours"` trains them on the harvested activations: TopK
    SAEs over `widths` x `ks`, a JumpReLU line over `jumprelu_widths` toward L0 `jumprelu_l0`, and
    TopK SAEs (`neighbour_width`, `neighbour_k`) on the previous layer's residual and this layer's
    attention and MLP outputs, each for `samples` samples. Any other source loads a pretrained
    family from the hub (see `helpers.lm.pretrained.PRETRAINED`)."""

    SECTION = "sae_suite"
    source: str = "ours"
    widths: tuple[int, ...] = (512, 1024, 2048, 4096)
    ks: tuple[int, ...] = (16, 32, 64)
    jumprelu_widths: tuple[int, ...] = (512, 1024, 2048)
    jumprelu_l0: int = 32
    neighbour_width: int = 1024
    neighbour_k: int = 32
    samples: int = 300_000
    batch_size: int = 512
    lr: float = 2e-3
    bf16: bool = True

    def __post_init__(self) -> None:
        _require(
            self.source in SAE_SOURCES, "sae_suite.source", self.source, f"one of {', '.join(SAE_SOURCES)}"
        )
        for name in ("widths", "ks", "jumprelu_widths"):
            values = getattr(self, name)
            _require(
                all(isinstance(v, int) and v > 0 for v in values) and list(values) == sorted(set(values)),
                f"sae_suite.{name}",
                values,
                "increasing positive integers",
            )
        _positive_int(self, "jumprelu_l0", "neighbour_width", "neighbour_k", "samples", "batch_size")
        _positive_float(self, "lr")
        _require(
            bool(self.widths) and bool(self.ks) and max(self.ks) <= min(self.widths),
            "sae_suite.ks",
            self.ks,
            f"non-empty, each at most the smallest width ({min(self.widths, default=0)})",
        )
        _require(
            self.neighbour_k <= self.neighbour_width,
            "sae_suite.neighbour_k",
            self.neighbour_k,
            f"at most sae_suite.neighbour_width = {self.neighbour_width}",
        )
        _require(
            self.samples >= self.batch_size,
            "sae_suite.samples",
            self.samples,
            f"at least one batch ({self.batch_size})",
        )


@dataclass(frozen=True)
class Decomposition:
    """Part IV's regressions (dark matter §4, §6-7). The probes are fitted on a seeded
    `train_fraction` of the analysis tokens and scored on the rest (the paper: 150k of 247k).
    Error is compared across widths at one sparsity: for each width, the SAE whose k (or L0, for
    pretrained SAEs) is closest to `reference_l0` (the paper: about 60). Fig. 6 draws
    `passage_tokens` tokens of analysis context `passage_context`."""

    SECTION = "decomposition"
    train_fraction: float = 0.6
    reference_l0: int = 32
    passage_context: int = 0
    passage_tokens: int = 48

    def __post_init__(self) -> None:
        _positive_int(self, "reference_l0", "passage_tokens")
        _require(
            isinstance(self.train_fraction, float) and 0.1 <= self.train_fraction <= 0.9,
            "decomposition.train_fraction",
            self.train_fraction,
            "a number in [0.1, 0.9]",
        )
        _require(
            isinstance(self.passage_context, int) and self.passage_context >= 0,
            "decomposition.passage_context",
            self.passage_context,
            "a non-negative integer (an analysis context)",
        )


@dataclass(frozen=True)
class ActivationModels:
    """The synthetic tests of dark matter §5 and Apps. B-C. B.1: `theory_samples` sparse sums of
    `theory_features` orthogonal unit features in `theory_dim` dimensions, with Bernoulli
    activations (probability `bernoulli_probability`) or Poisson ones (each rate of
    `poisson_rates`). B.2 and §5.2: `synthetic_tokens` analysis tokens (at most all of them)
    reconstructed by the suite's SAE nearest (`synthetic_width`, L0 `synthetic_l0`) (the paper:
    50k tokens, a 16k SAE at L0 68); §5.2 masks the rarest `mask_shares` of its latents (from 0,
    increasing; the paper: 0-50%, ours go further to show the trend) and adds Gaussian noise of
    `noise_levels` standard deviations, evenly from 0 to the one whose variance is
    `max_noise_variance_share` of the clean activations', to the input and to the reconstruction
    (the paper: 0-4 in Gemma 2 9B's raw units). App. C: the same test on sparse sums of
    `random_vectors` random Gaussian directions with power-law frequencies (`p_i ∝
    i^-random_frequency_exponent`) and mean L0 `random_l0`."""

    SECTION = "modeling_activations"
    theory_samples: int = 100_000
    theory_features: int = 256
    theory_dim: int = 512
    bernoulli_probability: float = 0.02
    poisson_rates: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0, 3.0)
    synthetic_tokens: int = 20_000
    synthetic_width: int = 4096
    synthetic_l0: int = 64
    mask_shares: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    noise_levels: int = 5
    max_noise_variance_share: float = 0.5
    random_vectors: int = 4096
    random_l0: int = 32
    random_frequency_exponent: float = 1.0

    def __post_init__(self) -> None:
        _positive_int(self, "theory_samples", "theory_features", "theory_dim", "synthetic_tokens")
        _positive_int(self, "synthetic_width", "synthetic_l0", "noise_levels", "random_vectors", "random_l0")
        _positive_float(
            self, "bernoulli_probability", "max_noise_variance_share", "random_frequency_exponent"
        )
        _require(
            self.noise_levels >= 2,
            "modeling_activations.noise_levels",
            self.noise_levels,
            "at least 2 (Table 1 correlates estimates with the noise level)",
        )
        _require(
            self.random_l0 < self.random_vectors,
            "modeling_activations.random_l0",
            self.random_l0,
            f"below modeling_activations.random_vectors = {self.random_vectors}",
        )
        _require(
            self.theory_features <= self.theory_dim,
            "modeling_activations.theory_features",
            self.theory_features,
            f"at most modeling_activations.theory_dim = {self.theory_dim} (the features are orthogonal)",
        )
        _require(
            self.bernoulli_probability < 1,
            "modeling_activations.bernoulli_probability",
            self.bernoulli_probability,
            "below 1",
        )
        _require(
            bool(self.poisson_rates) and all(r > 0 for r in self.poisson_rates),
            "modeling_activations.poisson_rates",
            self.poisson_rates,
            "non-empty positive rates",
        )
        _require(
            len(self.mask_shares) >= 2
            and self.mask_shares[0] == 0
            and all(a < b < 1 for a, b in zip(self.mask_shares[:-1], self.mask_shares[1:], strict=True)),
            "modeling_activations.mask_shares",
            self.mask_shares,
            "at least two increasing shares in [0, 1), the first 0 (Table 1 is read there)",
        )


@dataclass(frozen=True)
class ErrorComponents:
    """Dark matter §6. Fig. 8: two TopK SAEs of `component_sae_expansion` × d latents at k
    `component_sae_k` (the paper: 16 × d, k 32), one on the LinearError and one on the
    NonlinearError of the suite's SAE whose two parts are closest in norm, each trained on
    `component_sae_samples` training-store tokens (the paper: about 100M); the proxy
    interpretability score reads `scored_latents` latents of each, drawn at random from those that
    fire at least `min_firings` times on the test tokens."""

    SECTION = "error_components"
    component_sae_expansion: int = 8
    component_sae_k: int = 32
    component_sae_samples: int = 600_000
    scored_latents: int = 400
    min_firings: int = 20

    def __post_init__(self) -> None:
        _positive_int(self, "component_sae_expansion", "component_sae_k", "component_sae_samples")
        _positive_int(self, "scored_latents")
        _require(
            isinstance(self.min_firings, int) and self.min_firings >= 20,
            "error_components.min_firings",
            self.min_firings,
            "an integer of at least 20 (ten held-out deciles of two firings)",
        )


@dataclass(frozen=True)
class NonlinearReduction:
    """Dark matter §7. Fig. 10a re-encodes `pursuit_tokens` analysis tokens (test and training
    tokens in the usual split) with gradient pursuit on each SAE's frozen decoder."""

    SECTION = "reducing_nonlinear_error"
    pursuit_tokens: int = 8_192

    def __post_init__(self) -> None:
        _positive_int(self, "pursuit_tokens")


@dataclass(frozen=True)
class Profile:
    """Everything a run's size depends on; `name` says which profile it was resolved from."""

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

    def __post_init__(self) -> None:
        _require(self.device in DEVICES, "device", self.device, f"one of {', '.join(DEVICES)}")

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
            samples=8_000_000,
            orthogonality_samples=16_000_000,
            lr=3e-3,
            seeds=4,
            eval_samples=20_000,
            jump_relu_run=False,
            weak_firings_only_run=False,
        ),
        lm=LanguageModelData(
            model="smollm2-135m",
            layer=15,
            compiled=False,
            context_length=128,
            keep_from=16,
            train_contexts=96,
            analysis_contexts=32,
            ce_contexts=4,
            position_contexts=8,
        ),
        sae_suite=SaeSuite(
            widths=(256, 512, 1024),
            ks=(8, 32),
            jumprelu_widths=(512,),
            jumprelu_l0=16,
            neighbour_width=256,
            neighbour_k=16,
            samples=40_000,
        ),
        modeling_activations=ActivationModels(
            theory_samples=20_000,
            synthetic_tokens=4_000,
            synthetic_width=1024,
            synthetic_l0=32,
            random_vectors=1024,
        ),
        error_components=ErrorComponents(
            component_sae_expansion=4, component_sae_samples=40_000, scored_latents=200
        ),
        reducing_nonlinear_error=NonlinearReduction(pursuit_tokens=4_096),
    ),
    "cpu": Profile(
        name="cpu",
        description="The default book: the papers' settings where a 2-core laptop allows, "
        "minutes per notebook.",
        toy=ToyTraining(steps=10_000, seeds_per_setting=8),
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
        toy_sae=ToySaes(samples=20_000_000, orthogonality_samples=40_000_000, lr=1e-3, seeds=4),
    ),
    "paper": Profile(
        name="paper",
        description="The seed papers' own settings, for a GPU machine with hub access.",
        toy=ToyTraining(steps=10_000, seeds_per_setting=10),
        lm=LanguageModelData(
            model="google/gemma-2-9b",
            layer=20,
            corpus="pile",
            context_length=1024,
            keep_from=200,
            analysis_contexts=300,
            ce_contexts=32,
            batch_contexts=4,
        ),
        sae_suite=SaeSuite(source="gemma-scope-9b"),
        decomposition=Decomposition(reference_l0=60),
        modeling_activations=ActivationModels(
            synthetic_tokens=50_000,
            synthetic_width=16_384,
            synthetic_l0=68,
            mask_shares=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
        ),
        error_components=ErrorComponents(component_sae_expansion=16, component_sae_samples=20_000_000),
        reducing_nonlinear_error=NonlinearReduction(pursuit_tokens=50_000),
    ),
}


def _set_dotted(profile: Profile, dotted: str, value: Any) -> Profile:
    head, _, rest = dotted.partition(".")
    names = {f.name for f in dataclasses.fields(profile) if f.name != "name"}
    if head not in names:
        raise ConfigError(f"unknown override {dotted!r}: the profile has {', '.join(sorted(names))}.")
    current = getattr(profile, head)
    if dataclasses.is_dataclass(current):
        if not rest:
            raise ConfigError(f"override {dotted!r} names a whole section; name one of its fields.")
        fields = {f.name: f for f in dataclasses.fields(current)}
        if rest not in fields:
            raise ConfigError(
                f"unknown override {dotted!r}: section {head!r} has {', '.join(sorted(fields))}."
            )
        expected = type(getattr(current, rest))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):  # papermill and YAML give lists
            value = tuple(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(
                f"override {dotted!r} = {value!r} has type {type(value).__name__}; "
                f"expected {expected.__name__}."
            )
        return dataclasses.replace(profile, **{head: dataclasses.replace(current, **{rest: value})})
    if rest:
        raise ConfigError(f"unknown override {dotted!r}: {head!r} has no fields.")
    return dataclasses.replace(profile, **{head: value})


def load(name: str, overrides: dict[str, Any] | None = None) -> Profile:
    """Resolve a profile name and optional dotted overrides into a frozen, validated config."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}.")
    profile = PROFILES[name]
    for dotted, value in (overrides or {}).items():
        profile = _set_dotted(profile, dotted, value)
    return profile


if __name__ == "__main__":
    import json
    import sys

    try:
        resolved = load(sys.argv[1] if len(sys.argv) > 1 else "cpu")
    except ConfigError as error:
        sys.exit(f"error: {error}")
    print(json.dumps(resolved.as_dict(), indent=2))
