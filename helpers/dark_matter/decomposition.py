"""Decomposing SAE error (dark matter §4): closed-form least squares streamed over tokens, R² and
FVU, and the split of an SAE's error into a linearly predictable and a nonlinear part.

Notation as in the paper: `x` the activation, `Sae(x)` its reconstruction,
`SaeError(x) = x - Sae(x)`. The vector probe is the affine map `b` from `x` to `SaeError(x)`
fitted by ordinary least squares with an intercept on the training tokens;
`LinearError(x) = b(x)` (intercept included) and `NonlinearError(x) = SaeError(x) - b(x)`.
Pooled FVU is `Σ‖x - x̂‖² / Σ‖x - mean(x)‖²`; the R² of a multi-output regression is
`1 - SS_res / SS_tot` per output dimension, averaged over dimensions. Every sum is accumulated in
float64 a chunk of tokens at a time, so the token count is bounded by disk, not by RAM (the
products within a chunk are taken in the chunk's dtype: see `LeastSquares`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from helpers.lm.activation_store import ActivationStore, stream_rows

Reconstructor = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TokenSplit:
    """A seeded split of store rows into regression training and test tokens. `rows` are the
    store's row indices (sorted); `is_train` says which of them the probes are fitted on;
    `contexts`, for a split by context, each row's context of text."""

    rows: np.ndarray
    is_train: np.ndarray
    contexts: np.ndarray | None = None

    def test_groups(self) -> tuple[np.ndarray, int]:
        """Each test token's context as a label 0..n-1, and n: the units of a bootstrap over test
        contexts."""
        if self.contexts is None:
            raise ValueError(
                "this split was drawn by token; a bootstrap over contexts needs `split_by_context`."
            )
        labels, groups = np.unique(self.contexts[~self.is_train], return_inverse=True)
        return groups, len(labels)

    def score_groups(self) -> tuple[np.ndarray, int]:
        """`test_groups()` for a split by context; for a split by token, one group holding every
        test token (its scores have no resamples)."""
        if self.contexts is None:
            return np.zeros(len(self.test), np.int64), 1
        return self.test_groups()

    @property
    def train(self) -> np.ndarray:
        return self.rows[self.is_train]

    @property
    def test(self) -> np.ndarray:
        return self.rows[~self.is_train]

    def values_at(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per-token `values` (one per row of `self.rows`) at the store's `rows`, NaN where a row is
        not in the split (a massive-activation outlier, left out of every measurement)."""
        where = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        return np.where(self.rows[where] == rows, values[where], np.nan)


def split_tokens(rows: np.ndarray, train_fraction: float, seed: int) -> TokenSplit:
    """Draw `train_fraction` of `rows` at random (seeded) for fitting; the rest is for testing
    (the paper: 150k of 247k tokens)."""
    rows = np.sort(np.asarray(rows))
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction = {train_fraction!r} must be strictly between 0 and 1.")
    n_train = round(train_fraction * len(rows))
    if n_train < 2 or len(rows) - n_train < 2:
        raise ValueError(
            f"{len(rows)} rows cannot be split {train_fraction:.0%} / rest with two on each side."
        )
    is_train = np.zeros(len(rows), dtype=bool)
    is_train[np.random.default_rng(seed).choice(len(rows), n_train, replace=False)] = True
    return TokenSplit(rows, is_train)


def split_by_context(rows: np.ndarray, contexts: np.ndarray, train_fraction: float, seed: int) -> TokenSplit:
    """Draw `train_fraction` of the contexts (seeded) for fitting and keep the rest for testing,
    every token of a context on one side: no test context is seen in fitting, and the test contexts
    can be resampled as units. `contexts[i]` is the context of `rows[i]`."""
    rows, contexts = np.asarray(rows), np.asarray(contexts)
    if rows.shape != contexts.shape:
        raise ValueError(f"{rows.shape} rows but {contexts.shape} context labels.")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction = {train_fraction!r} must be strictly between 0 and 1.")
    order = np.argsort(rows, kind="stable")
    rows, contexts = rows[order], contexts[order]
    unique = np.unique(contexts)
    n_train = round(train_fraction * len(unique))
    if n_train < 2 or len(unique) - n_train < 2:
        raise ValueError(
            f"{len(unique)} contexts cannot be split {train_fraction:.0%} / rest with two on each side."
        )
    chosen = np.random.default_rng(seed).choice(unique, n_train, replace=False)
    return TokenSplit(rows, np.isin(contexts, chosen), contexts)


def context_split(store: ActivationStore, rows: np.ndarray, train_fraction: float, seed: int) -> TokenSplit:
    """`split_by_context` of a store's `rows` by the contexts they were harvested from."""
    rows = np.asarray(rows)
    return split_by_context(rows, store.context_index[rows], train_fraction, seed)


@dataclass(frozen=True)
class AffineMap:
    """`x ↦ x @ weight + bias`, fitted in float64; applied in float64 whatever `x`'s dtype."""

    weight: torch.Tensor  # [d_in, d_out]
    bias: torch.Tensor  # [d_out]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.weight) @ self.weight + self.bias

    def to(self, device: torch.device | str) -> AffineMap:
        return AffineMap(self.weight.to(device), self.bias.to(device))


def _as_matrix(values: torch.Tensor) -> torch.Tensor:
    return values.unsqueeze(-1) if values.ndim == 1 else values


class LeastSquares:
    """Ordinary least squares with an intercept, streamed: `add` chunks of (x, y), then `solve`.

    Each chunk is shifted by the first chunk's means (so the products are of nearly centred
    values and no precision is lost to the mean), its products `XᵀX` and `XᵀY` are taken in the
    chunk's own dtype (float32 activations: float32 matmuls, twice as fast as float64 on a CPU),
    and the chunk sums are accumulated in float64, so precision does not degrade with the token
    count. The centred normal equations are solved with a pseudo-inverse, so collinear or constant
    regressors (a one-hot column that never occurs) get the minimum-norm solution, as
    scikit-learn's `LinearRegression` does."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.n = 0
        self._shift: tuple[torch.Tensor, torch.Tensor] | None = None
        self._sums: tuple[torch.Tensor, ...] | None = None

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        x, y = _as_matrix(x).to(self.device), _as_matrix(y).to(self.device)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows and y {len(y)}; they must be the same tokens.")
        dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
        x, y = x.to(dtype), y.to(dtype)
        if self._shift is None:
            self._shift = (x.double().mean(0), y.double().mean(0))
        elif x.shape[1] != len(self._shift[0]) or y.shape[1] != len(self._shift[1]):
            raise ValueError("every chunk must have the same numbers of regressors and targets.")
        x, y = x - self._shift[0].to(dtype), y - self._shift[1].to(dtype)
        chunk = tuple(part.double() for part in (x.sum(0), y.sum(0), x.T @ x, x.T @ y))
        self._sums = (
            chunk if self._sums is None else tuple(a + b for a, b in zip(self._sums, chunk, strict=True))
        )
        self.n += len(x)

    def solve(self) -> AffineMap:
        if self._sums is None or self._shift is None or self.n < 2:
            raise ValueError("least squares needs at least two tokens; add some first.")
        sum_x, sum_y, xtx, xty = self._sums
        mean_x, mean_y = sum_x / self.n, sum_y / self.n  # of the shifted values
        covariance = xtx - self.n * torch.outer(mean_x, mean_x)
        cross = xty - self.n * torch.outer(mean_x, mean_y)
        weight = torch.linalg.pinv(covariance, hermitian=True) @ cross
        shift_x, shift_y = self._shift
        return AffineMap(weight, shift_y + mean_y - (shift_x + mean_x) @ weight)


class ExplainedVariance:
    """Streams (target, prediction) chunks; gives the per-dimension-averaged R² and the pooled FVU
    of the same predictions. All sums in float64. With `groups` > 1 every row names its group (the
    context of text it came from), the sums are kept per group, and `r2_replicates` and
    `fvu_replicates` give both statistics under bootstrap resamples of the groups
    (`helpers.book.intervals.resample_counts`): a resample weighs each group's sums by its count."""

    def __init__(self, groups: int = 1) -> None:
        if groups < 1:
            raise ValueError(f"groups = {groups} must be at least 1.")
        self.groups = groups
        self._sums: list[torch.Tensor] | None = None  # count, Σ target, Σ target², Σ residual²

    def add(self, target: torch.Tensor, prediction: torch.Tensor, group: torch.Tensor | None = None) -> None:
        target = _as_matrix(target).double()
        prediction = _as_matrix(prediction).to(target)
        if target.shape != prediction.shape:
            raise ValueError(f"target {tuple(target.shape)} and prediction {tuple(prediction.shape)} differ.")
        if group is None:
            if self.groups > 1:
                raise ValueError(f"name each row's group (0..{self.groups - 1}).")
            group = torch.zeros(len(target), dtype=torch.long, device=target.device)
        group = group.to(device=target.device, dtype=torch.long)
        in_range = len(group) == 0 or 0 <= int(group.min()) <= int(group.max()) < self.groups
        if group.shape != (len(target),) or not in_range:
            raise ValueError(
                f"group must give each of the {len(target)} rows a group in 0..{self.groups - 1}."
            )
        rows = (torch.ones_like(target[:, :1]), target, target.pow(2), (target - prediction).pow(2))
        if self._sums is None:
            self._sums = [target.new_zeros(self.groups, row.shape[1]) for row in rows]
        for sums, row in zip(self._sums, rows, strict=True):
            sums.index_add_(0, group, row)

    @property
    def n(self) -> int:
        return 0 if self._sums is None else int(self._sums[0].sum())

    def _totals(self, counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """`(SS_tot, SS_res)`, each `[resamples, d]`: per output dimension, with each group's sums
        weighted by its count in each resample (`counts` None: every group once)."""
        if self._sums is None or self.n < 2:
            raise ValueError("explained variance needs at least two tokens.")
        weights = np.ones((1, self.groups)) if counts is None else np.asarray(counts, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != self.groups:
            raise ValueError(f"counts must be [resamples, {self.groups}], not {weights.shape}.")
        n, total, squares, residual = (weights @ sums.cpu().numpy() for sums in self._sums)
        return squares - total**2 / n, residual

    @property
    def r2_by_output(self) -> np.ndarray:
        """`1 - SS_res / SS_tot` of each output dimension."""
        return self.r2_by_output_replicates(None)[0]

    @property
    def r2(self) -> float:
        """`1 - SS_res / SS_tot` per output dimension, averaged over dimensions."""
        return float(self.r2_by_output.mean())

    @property
    def fvu(self) -> float:
        """`Σ SS_res / Σ SS_tot` pooled over dimensions."""
        return float(self.fvu_replicates(None)[0])

    def r2_by_output_replicates(self, counts: np.ndarray | None) -> np.ndarray:
        """`[resamples, d]`: each output dimension's R² under each resample of the groups."""
        ss_tot, ss_res = self._totals(counts)
        return 1 - ss_res / ss_tot

    def r2_replicates(self, counts: np.ndarray | None) -> np.ndarray:
        """The R² under each resample of the groups (`[resamples, groups]` counts)."""
        return self.r2_by_output_replicates(counts).mean(1)

    def variance_replicates(self, counts: np.ndarray | None) -> np.ndarray:
        """The target's total variance `Σ SS_tot`, pooled over dimensions, under each resample."""
        return self._totals(counts)[0].sum(1)

    def fvu_replicates(self, counts: np.ndarray | None) -> np.ndarray:
        """The pooled FVU under each resample of the groups (`[resamples, groups]` counts)."""
        ss_tot, ss_res = self._totals(counts)
        return ss_res.sum(1) / ss_tot.sum(1)

    def removed_replicates(self, counts: np.ndarray | None) -> np.ndarray:
        """`1 - Σ SS_res / Σ ‖target‖²` pooled over dimensions, under each resample of the groups
        (`counts` None: every group once): the share of the target's summed squared norm, not
        centred, that subtracting the prediction removes."""
        if self._sums is None or self.n < 2:
            raise ValueError("explained variance needs at least two tokens.")
        weights = np.ones((1, self.groups)) if counts is None else np.asarray(counts, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != self.groups:
            raise ValueError(f"counts must be [resamples, {self.groups}], not {weights.shape}.")
        squares, residual = (weights @ self._sums[i].cpu().numpy() for i in (2, 3))
        return 1 - residual.sum(1) / squares.sum(1)


def fit_affine(x: torch.Tensor, y: torch.Tensor) -> AffineMap:
    """Least squares with an intercept on tensors already in memory."""
    solver = LeastSquares(x.device)
    solver.add(x, y)
    return solver.solve()


def r2_score(target: torch.Tensor, prediction: torch.Tensor) -> float:
    """R² averaged over output dimensions (scikit-learn's `r2_score` with uniform averaging)."""
    score = ExplainedVariance()
    score.add(target, prediction)
    return score.r2


def fvu(x: torch.Tensor, reconstruction: torch.Tensor) -> float:
    """Fraction of variance unexplained, pooled over dimensions."""
    score = ExplainedVariance()
    score.add(x, reconstruction)
    return score.fvu


NORMS = {  # Fig. 7's six vectors, each with the `ErrorDecomposition` field of its per-token norm
    "x": "input_norm",
    "Sae(x)": "reconstruction_norm",
    "Sae(x) + NonlinearError": "without_linear_error_norm",
    "SaeError": "error_norm",
    "LinearError": "linear_error_norm",
    "NonlinearError": "nonlinear_error_norm",
}


@dataclass
class ErrorDecomposition:
    """One reconstruction's error split into linear and nonlinear parts (paper Eqs. 2-4).

    Scores are on the test tokens. Per-token arrays follow `split.rows` (train and test tokens
    alike; `split.is_train` tells them apart)."""

    split: TokenSplit
    vector_probe: AffineMap  # x ↦ predicted SaeError(x)  (Eq. 3)
    norm_probe: AffineMap  # x ↦ predicted ‖SaeError(x)‖²  (Eq. 2)
    fvu_sae: float
    fvu_nonlinear: float  # FVU(x, Sae(x) + b(x))  (Eq. 4)
    vector_probe_r2: float
    norm_probe_r2: float
    input_norm: np.ndarray
    reconstruction_norm: np.ndarray
    error_norm: np.ndarray
    linear_error_norm: np.ndarray
    nonlinear_error_norm: np.ndarray
    without_linear_error_norm: np.ndarray  # ‖Sae(x) + NonlinearError(x)‖ = ‖x - b(x)‖
    linear_error_cosine_with_x: np.ndarray
    scores: dict[str, ExplainedVariance] = field(default_factory=dict)  # by test context, see `replicates`

    @property
    def fvu_linear(self) -> float:
        """`FVU(Sae) - FVU_nonlinear`: the share of variance the vector probe recovers."""
        return self.fvu_sae - self.fvu_nonlinear

    def norm(self, vector: str) -> np.ndarray:
        """Every token's norm of one of Fig. 7's vectors, named as in `NORMS` (e.g. "LinearError")."""
        return getattr(self, NORMS[vector])

    def replicates(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """`fvu_sae`, `fvu_nonlinear`, `fvu_linear`, `vector_probe_r2` and `norm_probe_r2` under each
        bootstrap resample of the test contexts (`counts`: `[resamples, contexts]`, from
        `helpers.book.intervals.resample_counts` over `split.test_groups()`)."""
        if not self.scores:
            raise ValueError("this decomposition kept no scores by test context to resample.")
        fvu_sae, fvu_nonlinear = (
            self.scores["sae"].fvu_replicates(counts),
            self.scores["nonlinear"].fvu_replicates(counts),
        )
        return {
            "fvu_sae": fvu_sae,
            "fvu_nonlinear": fvu_nonlinear,
            "fvu_linear": fvu_sae - fvu_nonlinear,
            "vector_probe_r2": self.scores["vector"].r2_replicates(counts),
            "norm_probe_r2": self.scores["norm"].r2_replicates(counts),
        }


@torch.no_grad()
def decompose(
    reconstruct: Reconstructor, activations: np.ndarray, split: TokenSplit, device: torch.device
) -> ErrorDecomposition:
    """Fit the vector and norm probes of `reconstruct`'s error on the training tokens, then score
    them on the test tokens (by test context, where the split is by context) and record every
    token's norms. Two streamed passes over the store; the reconstructions of the first are kept
    (float32, one row per token) for the second, so each token is reconstructed once."""
    vector, norm = LeastSquares(device), LeastSquares(device)
    reconstructions = np.empty((len(split.rows), activations.shape[1]), dtype=np.float32)
    for where, x in stream_rows(activations, split.rows, device):
        reconstruction = reconstruct(x)
        reconstructions[where] = reconstruction.cpu().numpy()
        train = torch.from_numpy(split.is_train[where]).to(device)
        x, error = x[train], (x - reconstruction)[train]
        if len(x):
            vector.add(x, error)
            norm.add(x, error.double().pow(2).sum(-1))
    vector_probe, norm_probe = vector.solve(), norm.solve()

    groups, n_groups = split.score_groups()
    test_group = np.full(len(split.rows), -1)
    test_group[~split.is_train] = groups
    scores = {name: ExplainedVariance(n_groups) for name in ("sae", "nonlinear", "vector", "norm")}
    per_token = {
        name: np.empty(len(split.rows))
        for name in ("x", "sae", "error", "linear", "nonlinear", "without_linear", "cos")
    }
    for where, x in stream_rows(activations, split.rows, device):
        reconstruction = torch.from_numpy(reconstructions[where]).to(device).double()
        x = x.double()
        error = x - reconstruction
        linear = vector_probe(x)
        nonlinear = error - linear
        squared_error = error.pow(2).sum(-1)
        is_test = ~split.is_train[where]
        test = torch.from_numpy(is_test).to(device)
        group = torch.from_numpy(test_group[where][is_test]).to(device)
        scores["sae"].add(x[test], reconstruction[test], group)
        scores["nonlinear"].add(x[test], (reconstruction + linear)[test], group)
        scores["vector"].add(error[test], linear[test], group)
        scores["norm"].add(squared_error[test], norm_probe(x)[test], group)
        columns = {
            "x": x.norm(dim=-1),
            "sae": reconstruction.norm(dim=-1),
            "error": squared_error.sqrt(),
            "linear": linear.norm(dim=-1),
            "nonlinear": nonlinear.norm(dim=-1),
            "without_linear": (x - linear).norm(dim=-1),
            "cos": torch.nn.functional.cosine_similarity(linear, x, dim=-1),
        }
        for name, values in columns.items():
            per_token[name][where] = values.cpu().numpy()
    return ErrorDecomposition(
        split=split,
        vector_probe=vector_probe,
        norm_probe=norm_probe,
        fvu_sae=scores["sae"].fvu,
        fvu_nonlinear=scores["nonlinear"].fvu,
        vector_probe_r2=scores["vector"].r2,
        norm_probe_r2=scores["norm"].r2,
        input_norm=per_token["x"],
        reconstruction_norm=per_token["sae"],
        error_norm=per_token["error"],
        linear_error_norm=per_token["linear"],
        nonlinear_error_norm=per_token["nonlinear"],
        without_linear_error_norm=per_token["without_linear"],
        linear_error_cosine_with_x=per_token["cos"],
        scores=scores,
    )


@torch.no_grad()
def linear_prediction_scores(
    activations: np.ndarray, targets: np.ndarray, split: TokenSplit, device: torch.device
) -> ExplainedVariance:
    """Test scores of predicting each column of `targets` (`[len(split.rows), m]`, one row per
    token of `split.rows`) by an affine map of the activation, fitted on the training tokens: the
    norm prediction test of Eq. 2 for many per-token scalars at once, in two streamed passes. The
    scores are kept by test context (`split.score_groups`), so `r2_by_output_replicates` resamples
    them."""
    targets = _as_matrix(torch.from_numpy(np.asarray(targets, dtype=np.float64)))
    if len(targets) != len(split.rows):
        raise ValueError(f"{len(targets)} target rows for {len(split.rows)} tokens; give one per token.")
    train_index, test_index = (np.flatnonzero(mask) for mask in (split.is_train, ~split.is_train))
    groups, n_groups = split.score_groups()
    groups = torch.from_numpy(groups)
    solver, score = LeastSquares(device), ExplainedVariance(n_groups)
    for where, x in stream_rows(activations, split.train, device):
        solver.add(x, targets[train_index[where]].to(device))
    probe = solver.solve()
    for where, x in stream_rows(activations, split.test, device):
        score.add(targets[test_index[where]].to(device), probe(x), groups[where].to(device))
    return score


def scalar_prediction_scores(source: np.ndarray, target: np.ndarray, split: TokenSplit) -> ExplainedVariance:
    """Test scores of `target ≈ a·source + c` fitted on the training tokens (Eq. 5: one SAE's
    per-token error norm from another's; `source` may have several columns, Eq. 10), kept by test
    context (`split.score_groups`)."""
    x, y = (
        torch.from_numpy(np.asarray(source, dtype=np.float64)),
        torch.from_numpy(np.asarray(target, dtype=np.float64)),
    )
    train = torch.from_numpy(split.is_train)
    probe = fit_affine(x[train], y[train])
    groups, n_groups = split.score_groups()
    score = ExplainedVariance(n_groups)
    score.add(y[~train], probe(_as_matrix(x[~train])).squeeze(-1), torch.from_numpy(groups))
    return score


def scalar_prediction_r2(source: np.ndarray, target: np.ndarray, split: TokenSplit) -> float:
    """The test R² of `scalar_prediction_scores`."""
    return scalar_prediction_scores(source, target, split).r2


def group_mean_scores(groups: np.ndarray, target: np.ndarray, split: TokenSplit) -> ExplainedVariance:
    """Test scores of predicting `target` by its mean over the training tokens of the same group
    (e.g. token identity: OLS on a one-hot encoding; groups unseen in training get the training
    mean), kept by test context (`split.score_groups`)."""
    groups, target = np.asarray(groups), np.asarray(target, dtype=np.float64)
    train, test = split.is_train, ~split.is_train
    codes, inverse = np.unique(groups, return_inverse=True)
    counts = np.bincount(inverse[train], minlength=len(codes))
    sums = np.bincount(inverse[train], weights=target[train], minlength=len(codes))
    means = np.where(counts > 0, sums / np.maximum(counts, 1), target[train].mean())
    labels, n_groups = split.score_groups()
    score = ExplainedVariance(n_groups)
    score.add(
        torch.from_numpy(target[test]), torch.from_numpy(means[inverse[test]]), torch.from_numpy(labels)
    )
    return score


def group_mean_r2(groups: np.ndarray, target: np.ndarray, split: TokenSplit) -> float:
    """The test R² of `group_mean_scores`."""
    return group_mean_scores(groups, target, split).r2


def norm_baseline_scores(
    d: ErrorDecomposition, token_ids: np.ndarray, l0: np.ndarray, loss: np.ndarray, split: TokenSplit
) -> dict[str, ExplainedVariance]:
    """App. A.3's baselines for the squared error norm `‖SaeError(x)‖²`: test scores (kept by test
    context) of four one-variable predictors fitted on the training tokens: the token's identity
    (its training mean per token id), the SAE's L0 on the token, the activation's norm and the
    model's next-token loss. `token_ids`, `l0` and `loss` follow `split.rows`, as `d`'s arrays do."""
    target = d.error_norm**2
    return {
        "token identity": group_mean_scores(token_ids, target, split),
        "SAE L0": scalar_prediction_scores(l0, target, split),
        "activation norm": scalar_prediction_scores(d.input_norm, target, split),
        "model loss": scalar_prediction_scores(loss, target, split),
    }


def norm_baselines_r2(
    d: ErrorDecomposition, token_ids: np.ndarray, l0: np.ndarray, loss: np.ndarray, split: TokenSplit
) -> dict[str, float]:
    """App. A.3: the test R² of the activation probe (Eq. 2) and of each of `norm_baseline_scores`."""
    baselines = norm_baseline_scores(d, token_ids, l0, loss, split)
    return {"activation probe": d.norm_probe_r2, **{name: s.r2 for name, s in baselines.items()}}
