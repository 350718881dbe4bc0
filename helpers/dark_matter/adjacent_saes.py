"""Explaining one SAE's error with other SAEs' outputs (dark matter §7.2, Fig. 10b).

The residual stream after layer L is the sum of what came before it:
`x_L = x_{L-1} + Attn_L + Mlp_L` (Eq. 11). With an SAE on each term, every term's reconstruction
is a candidate *source*; the *targets* are the parts of the main SAE's error, `SaeError(x)`,
`LinearError(x) = b(x)` and `NonlinearError(x) = SaeError(x) - b(x)` (`b` the vector probe of
`helpers.dark_matter.decomposition`). Each source predicts every target by least squares with an intercept,
fitted on the training tokens and scored on the test tokens, streamed over the activation stores a
chunk of tokens at a time. One regression per source fits all its targets at once (their columns
side by side), so each source's `XᵀX` is accumulated once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from helpers.dark_matter.decomposition import (
    AffineMap,
    ExplainedVariance,
    LeastSquares,
    TokenSplit,
)
from helpers.lm.activation_store import CHUNK_ROWS
from helpers.lm.suite import SaeEntry, sparsity_line

Features = Callable[[np.ndarray], dict[str, torch.Tensor]]  # store rows -> named [rows, dim] matrices
ERROR_PARTS = ("SaeError", "LinearError", "NonlinearError")


def neighbours_and_match(entries: list[SaeEntry], site: str) -> tuple[list[SaeEntry], SaeEntry]:
    """The suite's SAEs at sites other than `site` (in the suite's order), and the SAE at `site`
    most like them: on the sparsity line at their median sparsity, the width nearest their median
    width (the paper compares SAEs of one width and L0 at every site)."""
    neighbours = [e for e in entries if e.site != site]
    if not neighbours:
        raise ValueError(f"the suite has no SAE beside the ones at {site}.")
    width = float(np.median([e.width for e in neighbours]))
    line = sparsity_line(entries, site, round(float(np.median([e.sparsity for e in neighbours]))))
    return neighbours, min(line, key=lambda e: abs(np.log(e.width / width)))


def read_rows(activations: np.ndarray, rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """Rows of a (memory-mapped) `[n, d]` array as float32 on `device`."""
    return torch.from_numpy(np.asarray(activations[rows], dtype=np.float32)).to(device)


def sae_reconstructions(
    saes: dict[str, tuple[torch.nn.Module, np.ndarray]], device: torch.device
) -> Features:
    """Sources: for each name, an SAE and the activations of the site it reads; each token's
    feature is that SAE's reconstruction of the site's activation."""

    @torch.no_grad()
    def features(rows: np.ndarray) -> dict[str, torch.Tensor]:
        return {name: sae(read_rows(acts, rows, device)) for name, (sae, acts) in saes.items()}

    return features


def error_parts(
    sae: torch.nn.Module, vector_probe: AffineMap, activations: np.ndarray, device: torch.device
) -> Features:
    """Targets: the SAE's error on each token and its linear and nonlinear parts (Eqs. 3-4), in
    the activations' float32 (the regressions' sums are float64 whatever the inputs)."""

    @torch.no_grad()
    def features(rows: np.ndarray) -> dict[str, torch.Tensor]:
        x = read_rows(activations, rows, device)
        error = x - sae(x)
        linear = vector_probe(x).to(error.dtype)
        return dict(zip(ERROR_PARTS, (error, linear, error - linear), strict=True))

    return features


def _chunks(rows: np.ndarray, chunk: int):
    for start in range(0, len(rows), chunk):
        yield slice(start, start + chunk)


def cross_prediction(
    sources: Features, targets: Features, split: TokenSplit, device: torch.device, chunk: int = CHUNK_ROWS
) -> dict[tuple[str, str], ExplainedVariance]:
    """For every (source, target) pair: the test-token scores (R² averaged over the target's
    dimensions, pooled FVU) of the least-squares map from source to target fitted on the training
    tokens. Two streamed passes over `split`: fit, then score. Where the split is by context, the
    scores are kept by test context (`split.score_groups()`), so their `r2_replicates` and
    `fvu_replicates` resample the test contexts; the scores of the whole test set are the same."""
    solvers: dict[str, LeastSquares] = {}
    widths: dict[str, int] = {}
    for where in _chunks(split.train, chunk):
        x, y = sources(split.train[where]), targets(split.train[where])
        widths = {name: values.shape[1] for name, values in y.items()}
        stacked = torch.cat(list(y.values()), dim=1)
        for name, values in x.items():
            solvers.setdefault(name, LeastSquares(device)).add(values, stacked)
    maps = {name: solver.solve() for name, solver in solvers.items()}
    groups, n_groups = split.score_groups()
    scores = {(s, t): ExplainedVariance(n_groups) for s in maps for t in widths}
    for where in _chunks(split.test, chunk):
        x, y = sources(split.test[where]), targets(split.test[where])
        group = torch.from_numpy(groups[where])
        for name, values in x.items():
            predictions = maps[name](values).split(list(widths.values()), dim=1)
            for (target, truth), prediction in zip(y.items(), predictions, strict=True):
                scores[name, target].add(truth, prediction, group)
    return scores
