"""`make bench` rows for Part IV: the closed-form regression behind every probe of the
decomposition, against scikit-learn's `LinearRegression` on the same problem."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score as sklearn_r2

from helpers import lm_bench  # noqa: F401 - Part III's rows come before Part IV's in the table
from helpers.bench import BenchSettings, Comparison, benchmark, timed
from helpers.decomposition import CHUNK_ROWS, LeastSquares, decompose, r2_score, split_tokens, stream_rows
from helpers.lm_data import LmData
from helpers.sae_suite import sparsity_line

REGRESSION_TOKENS = 150_000  # the paper's training tokens


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


@benchmark("closed-form regression (Eq. 3)")
def error_regression(settings: BenchSettings) -> Comparison:
    """The vector probe of the widest reference-sparsity SAE (x ↦ SaeError(x), d outputs) on up to
    150k training-store tokens, scored on the analysis store's test split; then the time of the
    whole Fig. 3 grid (every main-site SAE's two probes, streamed from the analysis store)."""
    data = LmData(settings.profile, 0, settings.device)
    site = str(data.site)
    entry = sparsity_line(data.entries, site, settings.profile.decomposition.reference_l0)[-1]
    sae = data.saes[entry.name]
    rows = data.train_rows[:REGRESSION_TOKENS] if data.suite_config.source == "ours" else None
    store = data.train_store if rows is not None else data.analysis_store
    split = split_tokens(data.analysis_rows, settings.profile.decomposition.train_fraction, 0)
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
