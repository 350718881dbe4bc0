"""`make bench` rows for Part IV: the closed-form regression behind every probe of the
decomposition, against scikit-learn's `LinearRegression` on the same problem; and batched
gradient pursuit (§7.1) against the same algorithm run one token at a time."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score as sklearn_r2

from helpers.bench.framework import BenchSettings, Comparison
from helpers.book.timing import timed
from helpers.dark_matter.decomposition import LeastSquares, context_split, decompose, r2_score
from helpers.dark_matter.pursuit import gradient_pursuit
from helpers.lm.activation_store import CHUNK_ROWS, stream_rows
from helpers.lm.data import LmData

REGRESSION_TOKENS = 150_000  # the paper's training tokens
PURSUIT_TOKENS = 256  # enough to time the per-token loop, which takes tens of milliseconds a token


def regression_comparison(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, device: torch.device
) -> tuple[float, float, float, float]:
    """Fit `y ≈ x·W + c` both ways and score both on the test rows: (our seconds, scikit-learn's
    seconds, our test R², scikit-learn's test R²). Ours streams the rows in chunks, as the
    decomposition does over a store."""
    fitted = {}

    def ours() -> None:
        solver = LeastSquares(device)
        for start in range(0, len(x_train), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            solver.add(torch.from_numpy(x_train[rows]).to(device), torch.from_numpy(y_train[rows]).to(device))
        fitted["ours"] = solver.solve()

    def scikit_learn() -> None:
        fitted["sklearn"] = LinearRegression().fit(x_train, y_train)

    ours_seconds = timed(ours, device)
    sklearn_seconds = timed(scikit_learn, torch.device("cpu"))
    prediction = fitted["ours"](torch.from_numpy(x_test).to(device))
    ours_r2 = r2_score(torch.from_numpy(y_test).to(device), prediction)
    return (
        ours_seconds,
        sklearn_seconds,
        ours_r2,
        float(sklearn_r2(y_test, fitted["sklearn"].predict(x_test))),
    )


def error_regression(settings: BenchSettings) -> Comparison:
    """The vector probe of the widest reference-sparsity SAE (x ↦ SaeError(x), d outputs) on up to
    150k training-store tokens, scored on the analysis store's test split; then the time of the
    whole Fig. 3 grid (every main-site SAE's two probes, streamed from the analysis store)."""
    data = LmData(settings.profile, 0, settings.device)
    site = str(data.site)
    entry = data.reference_line[-1]
    sae = data.saes[entry.name]
    rows = data.train_rows[:REGRESSION_TOKENS] if data.suite_config.source == "ours" else None
    store = data.train_store if rows is not None else data.analysis_store
    split = context_split(
        data.analysis_store, data.analysis_rows, settings.profile.decomposition.train_fraction, 0
    )
    train_rows = rows if rows is not None else split.train

    @torch.no_grad()
    def with_error(store_rows: np.ndarray, source) -> tuple[np.ndarray, np.ndarray]:
        chunks = [x for _, x in stream_rows(source.activations(site), store_rows, settings.device)]
        errors = [(x - sae(x)).cpu().numpy() for x in chunks]
        return torch.cat(chunks).cpu().numpy(), np.concatenate(errors)

    x_train, y_train = with_error(train_rows, store)
    x_test, y_test = with_error(split.test, data.analysis_store)
    ours_seconds, sklearn_seconds, ours_r2, sklearn_r2_value = regression_comparison(
        x_train, y_train, x_test, y_test, settings.device
    )
    started = time.perf_counter()
    activations = data.analysis_store.activations(site)
    for grid_entry in (e for e in data.entries if e.site == site):
        decompose(data.saes[grid_entry.name], activations, split, settings.device)
    grid_seconds = time.perf_counter() - started
    n, d = x_train.shape
    return Comparison(
        name="closed-form regression (Eq. 3)",
        ours=f"LeastSquares: float32 XᵀX, XᵀY per {CHUNK_ROWS}-row chunk, summed in float64; pinv",
        ours_seconds=ours_seconds,
        baseline="sklearn LinearRegression (float32 in, scipy lstsq)",
        baseline_seconds=sklearn_seconds,
        target_ratio=5.0,
        details={
            "tokens": n,
            "d": d,
            "sae": entry.name,
            "r2": ours_r2,
            "baseline_r2": sklearn_r2_value,
            "r2_difference": abs(ours_r2 - sklearn_r2_value),
            "achieved_gflops": 2 * n * (d + 1) * (2 * d + 1) / ours_seconds / 1e9,
            "dtype": "float32",
            "fig3_grid_seconds": grid_seconds,
            "fig3_grid_saes": sum(e.site == site for e in data.entries),
        },
        limited_by=(
            "the float32 matmuls XᵀX and XᵀY (d + 1 columns against 8192 rows: a skinny product "
            "that stops short of the square matmul's rate); XᵀX is symmetric but torch has no "
            "syrk, so half of its work is repeated"
        ),
    )


@torch.no_grad()
def per_token_pursuit(
    x: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor, l0: torch.Tensor
) -> torch.Tensor:
    """The way one would write gradient pursuit first: the algorithm of
    `helpers.dark_matter.pursuit`, one token at a time, its support a Python list and each step a few
    matrix-vector products."""
    atoms = decoder.float()
    reconstructions = []
    for signal, steps in zip((x - bias).float(), l0.tolist(), strict=True):
        support: list[int] = []
        weights, residual = signal.new_zeros(0), signal
        for _ in range(steps):
            correlation = atoms @ residual
            correlation[support] = -torch.inf
            support.append(int(correlation.argmax()))
            chosen = atoms[support]
            gradient = chosen @ residual
            direction = gradient @ chosen
            size = (direction @ residual) / (direction @ direction + torch.finfo(signal.dtype).tiny)
            weights = (torch.cat([weights, weights.new_zeros(1)]) + size * gradient).clamp_min(0)
            residual = signal - weights @ chosen
        reconstructions.append(signal - residual)
    return torch.stack(reconstructions) + bias.float()


def pursuit_comparison(
    x: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor, l0: torch.Tensor, device: torch.device
) -> tuple[float, float, float, float]:
    """Pursue every row of `x` both ways: (our seconds, the per-token loop's seconds, the largest
    relative difference of one token's reconstructions `‖ours - loop‖ / ‖loop‖`, and the relative
    difference of the summed squared errors)."""
    x, decoder, bias, l0 = (t.to(device) for t in (x, decoder, bias, l0))
    gradient_pursuit(x[:8], decoder, bias, l0[:8])  # one-off set-up outside the timing
    reconstructions = {}
    ours_seconds = timed(lambda: reconstructions.update(ours=gradient_pursuit(x, decoder, bias, l0)), device)
    baseline_seconds = timed(
        lambda: reconstructions.update(loop=per_token_pursuit(x, decoder, bias, l0)), device
    )
    ours, loop = reconstructions["ours"], reconstructions["loop"]
    difference = ((ours - loop).norm(dim=-1) / loop.norm(dim=-1).clamp_min(1e-12)).max()
    errors = [(x - r).double().pow(2).sum() for r in (ours, loop)]
    return ours_seconds, baseline_seconds, float(difference), float((errors[0] - errors[1]).abs() / errors[1])


def pursuit_encoding(settings: BenchSettings) -> Comparison:
    """Gradient pursuit on the widest reference-sparsity SAE's decoder, each token to the L0 the SAE
    used on it, for a few hundred analysis tokens: batched against a per-token loop."""
    data = LmData(settings.profile, 0, settings.device)
    site = str(data.site)
    entry = data.reference_line[-1]
    sae = data.saes[entry.name]
    rows = np.sort(np.random.default_rng(0).choice(data.analysis_rows, PURSUIT_TOKENS, replace=False))
    x = next(stream_rows(data.analysis_store.activations(site), rows, settings.device, len(rows)))[1]
    with torch.no_grad():
        l0 = (sae.encode(x) > 0).sum(-1)
    ours_seconds, baseline_seconds, difference, error_difference = pursuit_comparison(
        x, sae.W_dec, sae.b_dec, l0, settings.device
    )
    n, (width, d), steps = len(x), sae.W_dec.shape, int(l0.max())
    return Comparison(
        name="gradient pursuit (§7.1)",
        ours="helpers.dark_matter.pursuit: all tokens as one batch, supports summed with embedding_bag",
        ours_seconds=ours_seconds,
        baseline="the same algorithm one token at a time (torch matrix-vector products)",
        baseline_seconds=baseline_seconds,
        target_ratio=10.0,
        details={
            "tokens": n,
            "sae": entry.name,
            "width": width,
            "d": d,
            "mean_l0": float(l0.float().mean()),
            "tokens_per_s": n / ours_seconds,
            "baseline_tokens_per_s": n / baseline_seconds,
            "max_relative_difference": difference,
            "squared_error_relative_difference": error_difference,
            "achieved_gflops": 2 * n * width * d * steps / ours_seconds / 1e9,
            "dtype": "float32",
        },
        limited_by=(
            f"one [{n}, {d}] x [{d}, {width}] correlation matmul per atom added (the FLOPs counted), "
            "a skinny product at a few hundred tokens; the memory-bound embedding_bag that rebuilds "
            "each token's reconstruction from its growing support comes on top"
        ),
    )
