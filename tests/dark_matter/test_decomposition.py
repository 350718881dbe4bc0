"""The decomposition module against scikit-learn and against cases whose answers are known."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score as sklearn_r2

from helpers.dark_matter.decomposition import (
    NORMS,
    ErrorDecomposition,
    ExplainedVariance,
    LeastSquares,
    decompose,
    fit_affine,
    fvu,
    group_mean_r2,
    group_mean_scores,
    linear_prediction_scores,
    norm_baselines_r2,
    r2_score,
    scalar_prediction_r2,
    split_by_context,
    split_tokens,
)


def correlated_problem(n=3000, d_in=24, d_out=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d_in)) @ rng.normal(size=(d_in, d_in)) + 5.0  # correlated, off-centre
    y = (
        x @ rng.normal(size=(d_in, d_out))
        + 3.0
        + rng.normal(scale=4.0, size=(n, d_out))
        + 0.1 * x[:, :d_out] ** 2
    )
    return x, y


def test_least_squares_matches_scikit_learn():
    x, y = correlated_problem()
    train, test = slice(0, 2000), slice(2000, None)
    reference = LinearRegression().fit(x[train], y[train])
    ours = fit_affine(torch.from_numpy(x[train]), torch.from_numpy(y[train]))
    np.testing.assert_allclose(ours.weight.numpy(), reference.coef_.T, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.bias.numpy(), reference.intercept_, rtol=1e-7, atol=1e-8)
    ours_r2 = r2_score(torch.from_numpy(y[test]), ours(torch.from_numpy(x[test])))
    assert abs(ours_r2 - sklearn_r2(y[test], reference.predict(x[test]))) < 1e-6


def test_streaming_in_chunks_equals_one_float64_solve():
    x, y = correlated_problem(seed=1)
    streamed = LeastSquares()
    for start in range(0, len(x), 700):
        streamed.add(torch.from_numpy(x[start : start + 700]), torch.from_numpy(y[start : start + 700]))
    whole = fit_affine(torch.from_numpy(x), torch.from_numpy(y))
    torch.testing.assert_close(streamed.solve().weight, whole.weight, rtol=1e-9, atol=1e-10)
    score = ExplainedVariance()
    for start in range(0, len(x), 999):
        score.add(torch.from_numpy(y[start : start + 999]), torch.from_numpy(y[start : start + 999] * 0.5))
    assert score.r2 == pytest.approx(r2_score(torch.from_numpy(y), torch.from_numpy(y * 0.5)), abs=1e-12)


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_float32_products_score_as_a_float64_solve_even_far_off_centre(offset):
    """Float32 chunks take float32 products (shifted by the first chunk's means) summed in float64.
    The normal equations square the condition number, so float32 products cost some precision on
    ill-conditioned data: on a covariance of condition number 1e6 (Gemma 3's layer 9: 5e5), with
    signal along its weakest directions, the held-out R² stays within 1e-5 of a float64 solve of
    the same float32 data (measured: 2e-6), even far from the origin. (On the real vector probe
    `make bench` measures 1e-7 against scikit-learn.)"""
    rng = np.random.default_rng(1)
    rotation = np.linalg.qr(rng.normal(size=(24, 24)))[0]
    x = rng.normal(size=(20_000, 24)) * np.logspace(0, 3, 24) @ rotation + offset
    y = (
        x @ rng.normal(size=(24, 7))
        + 0.01 * (x[:, :7] - offset) ** 2
        + rng.normal(scale=30.0, size=(20_000, 7))
    )
    x, y = (values.astype(np.float32).astype(np.float64) for values in (x, y - offset))
    train, test = slice(0, 15_000), slice(15_000, None)
    streamed = LeastSquares()
    for start in range(0, 15_000, 4096):
        rows = slice(start, min(start + 4096, 15_000))
        streamed.add(torch.from_numpy(x[rows]).float(), torch.from_numpy(y[rows]).float())
    whole = fit_affine(torch.from_numpy(x[train]), torch.from_numpy(y[train]))
    target, x_test = torch.from_numpy(y[test]), torch.from_numpy(x[test])
    assert r2_score(target, streamed.solve()(x_test)) == pytest.approx(
        r2_score(target, whole(x_test)), abs=1e-5
    )


def test_exact_affine_relation_is_recovered_with_r2_one():
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.normal(size=(500, 6)))
    a, c = torch.from_numpy(rng.normal(size=(6, 3))), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    probe = fit_affine(x, x @ a + c)
    torch.testing.assert_close(probe.weight, a)
    torch.testing.assert_close(probe.bias, c)
    assert r2_score(x @ a + c, probe(x)) == pytest.approx(1.0, abs=1e-12)


def test_constant_and_duplicated_regressors_get_scikit_learns_minimum_norm_answer():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(400, 3))
    x = np.column_stack([base, base[:, 0], np.zeros(400)])  # a copy and an all-zero (one-hot never seen)
    y = base @ np.array([1.0, 2.0, -1.0]) + rng.normal(scale=0.1, size=400)
    ours = fit_affine(torch.from_numpy(x), torch.from_numpy(y))
    reference = LinearRegression().fit(x, y)
    np.testing.assert_allclose(ours.weight.numpy().ravel(), reference.coef_, atol=1e-8)
    assert ours.weight[0, 0].item() == pytest.approx(0.5, abs=0.02), "the duplicated column shares the weight"


def test_fvu_and_r2_known_values():
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
    assert fvu(x, torch.zeros_like(x)) == pytest.approx(
        1.0
    )  # the mean is zero: predicting it explains nothing
    assert fvu(x, x) == 0.0
    assert fvu(x, x / 2) == pytest.approx(0.25)
    # per-dimension R² averages dimensions equally, pooled FVU weights them by variance
    prediction = x.clone()
    prediction[:, 0] = 0
    assert r2_score(x, prediction) == pytest.approx(0.5)
    assert 1 - fvu(x, prediction) == pytest.approx(8 / 10)


def test_bad_inputs_fail_with_a_message():
    with pytest.raises(ValueError, match="same tokens"):
        LeastSquares().add(torch.zeros(5, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="at least two"):
        LeastSquares().solve()
    with pytest.raises(ValueError, match="strictly between"):
        split_tokens(np.arange(10), 1.0, 0)
    with pytest.raises(ValueError, match="differ"):
        r2_score(torch.zeros(4, 2), torch.zeros(4, 3))


def test_split_is_seeded_disjoint_and_complete():
    rows = np.arange(100, 1100, 3)
    a, b = split_tokens(rows, 0.6, seed=4), split_tokens(rows, 0.6, seed=4)
    np.testing.assert_array_equal(a.is_train, b.is_train)
    assert len(a.train) == round(0.6 * len(rows))
    assert not set(a.train) & set(a.test) and set(a.train) | set(a.test) == set(rows)
    assert not np.array_equal(a.is_train, split_tokens(rows, 0.6, seed=5).is_train)


def test_a_split_by_context_keeps_each_context_on_one_side():
    rows = np.arange(300, 0, -1)  # unsorted on purpose
    contexts = (rows - 1) // 10  # 30 contexts of 10 tokens
    split = split_by_context(rows, contexts, 0.6, seed=2)
    np.testing.assert_array_equal(split.rows, np.sort(rows))
    train_contexts, test_contexts = set(split.contexts[split.is_train]), set(split.contexts[~split.is_train])
    assert not train_contexts & test_contexts and len(train_contexts) == 18 and len(test_contexts) == 12
    np.testing.assert_array_equal(split.contexts, (split.rows - 1) // 10)
    groups, n = split.test_groups()
    assert n == 12 and len(groups) == len(split.test) and set(groups) == set(range(12))
    assert len({(g, c) for g, c in zip(groups, split.contexts[~split.is_train], strict=True)}) == 12
    with pytest.raises(ValueError, match="two on each side"):
        split_by_context(rows[:30], contexts[:30], 0.6, seed=0)
    with pytest.raises(ValueError, match="context labels"):
        split_by_context(rows, contexts[:-1], 0.6, seed=0)
    with pytest.raises(ValueError, match="split_by_context"):
        split_tokens(rows, 0.6, seed=0).test_groups()


def test_grouped_scores_resample_as_if_the_data_were_duplicated():
    """A resample that draws group 0 twice and drops group 2 scores exactly as the pooled score of
    the data with those rows duplicated and dropped (the closed form of a bootstrap resample)."""
    _, y = correlated_problem(n=900, seed=3)
    prediction = 0.7 * y + 1.0
    group = np.repeat(np.arange(3), 300)
    grouped, pooled = ExplainedVariance(groups=3), ExplainedVariance()
    for start in range(0, 900, 250):  # chunks that cut across groups
        part = slice(start, start + 250)
        grouped.add(
            torch.from_numpy(y[part]), torch.from_numpy(prediction[part]), torch.from_numpy(group[part])
        )
        pooled.add(torch.from_numpy(y[part]), torch.from_numpy(prediction[part]))
    assert grouped.r2 == pytest.approx(pooled.r2, abs=1e-12) and grouped.fvu == pytest.approx(
        pooled.fvu, abs=1e-12
    )
    rows = np.concatenate([np.arange(300), np.arange(300), np.arange(300, 600)])
    duplicated = ExplainedVariance()
    duplicated.add(torch.from_numpy(y[rows]), torch.from_numpy(prediction[rows]))
    counts = np.array([[2.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(grouped.r2_replicates(counts), [duplicated.r2, pooled.r2], rtol=1e-12)
    np.testing.assert_allclose(grouped.fvu_replicates(counts), [duplicated.fvu, pooled.fvu], rtol=1e-12)
    with pytest.raises(ValueError, match="name each row's group"):
        grouped.add(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="a group in 0..2"):
        grouped.add(torch.zeros(2, 7), torch.zeros(2, 7), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="counts must be"):
        grouped.r2_replicates(np.ones((4, 2)))


def sparse_activations(n=4000, d=32, n_features=48, seed=5):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n_features, d))
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    codes = rng.exponential(size=(n, n_features)) * (rng.random((n, n_features)) < 0.1)
    return (codes @ features + 0.3).astype(np.float32)


def top4(x):
    """A crude sparse 'SAE': keep each token's 4 largest coordinates in a fixed basis."""
    kept = torch.topk(x.abs(), 4, dim=-1).indices
    return torch.zeros_like(x).scatter(-1, kept, x.gather(-1, kept))


def test_a_shrinking_reconstruction_has_only_linear_error():
    acts = sparse_activations()
    split = split_tokens(np.arange(len(acts)), 0.6, seed=0)
    result = decompose(lambda x: 0.7 * x, acts, split, torch.device("cpu"))
    test = acts[split.test].astype(np.float64)
    squared_norm, squared_deviation = (test**2).sum(), ((test - test.mean(0)) ** 2).sum()
    assert result.fvu_sae == pytest.approx(0.09 * squared_norm / squared_deviation, rel=1e-5)
    assert result.vector_probe_r2 == pytest.approx(1.0, abs=1e-9)
    assert result.fvu_nonlinear == pytest.approx(0.0, abs=1e-9)
    assert result.fvu_linear == pytest.approx(result.fvu_sae)
    np.testing.assert_allclose(result.linear_error_cosine_with_x, 1.0, atol=1e-6)
    np.testing.assert_allclose(result.nonlinear_error_norm, 0.0, atol=1e-5)


def test_decomposition_identities_on_a_sparse_reconstruction():
    """For the `top4` 'SAE': FVU(Sae) = linear + nonlinear by definition, nonlinear ≤ SAE FVU,
    R² ≤ 1, and the per-token norms agree with the vectors they describe."""
    acts = sparse_activations(seed=6)
    split = split_tokens(np.arange(len(acts)), 0.6, seed=1)

    result = decompose(top4, acts, split, torch.device("cpu"))
    assert 0 < result.fvu_nonlinear < result.fvu_sae < 1
    assert result.fvu_linear + result.fvu_nonlinear == pytest.approx(result.fvu_sae)
    assert result.vector_probe_r2 <= 1 and result.norm_probe_r2 <= 1
    x = torch.from_numpy(acts[split.rows]).double()
    error = x - top4(x.float()).double()
    np.testing.assert_allclose(result.error_norm, error.norm(dim=-1).numpy(), rtol=1e-5)
    test = torch.from_numpy(~split.is_train)
    assert result.fvu_sae == pytest.approx(fvu(x[test], x[test] - error[test]), rel=1e-9)
    linear = result.vector_probe(x)
    np.testing.assert_allclose(result.nonlinear_error_norm, (error - linear).norm(dim=-1).numpy(), rtol=1e-5)


def test_norm_prediction_of_many_scalars_at_once():
    """The six-component test (Fig. 7) regresses every per-token squared norm on x in one pass:
    its SaeError column reproduces the norm probe of `decompose`, each column matches scikit-learn,
    and ‖x - b(x)‖ is the norm of Sae(x) + NonlinearError(x)."""
    acts = sparse_activations(seed=9)
    split = split_tokens(np.arange(len(acts)), 0.6, seed=3)

    result = decompose(top4, acts, split, torch.device("cpu"))
    x = torch.from_numpy(acts[split.rows]).double()
    reconstruction = top4(x.float()).double()
    nonlinear = x - reconstruction - result.vector_probe(x)
    np.testing.assert_allclose(
        result.without_linear_error_norm, (reconstruction + nonlinear).norm(dim=-1).numpy(), rtol=1e-5
    )
    targets = np.column_stack([result.input_norm, result.error_norm, result.nonlinear_error_norm]) ** 2
    r2 = linear_prediction_scores(acts, targets, split, torch.device("cpu")).r2_by_output
    assert r2[1] == pytest.approx(result.norm_probe_r2, abs=1e-6)
    train, test = split.is_train, ~split.is_train
    x_numpy = acts[split.rows].astype(np.float64)
    reference = LinearRegression().fit(x_numpy[train], targets[train])
    expected = sklearn_r2(targets[test], reference.predict(x_numpy[test]), multioutput="raw_values")
    np.testing.assert_allclose(r2, expected, atol=1e-6)
    with pytest.raises(ValueError, match="one per token"):
        linear_prediction_scores(acts, targets[:-1], split, torch.device("cpu"))


def test_norm_prediction_scores_resample_by_test_context():
    """Split by context, the scores are kept per test context: every context drawn once gives the
    whole-sample R², and one context drawn alone gives the R² measured on its tokens only."""
    acts = sparse_activations(seed=9)
    contexts = np.arange(len(acts)) // 50
    split = split_by_context(np.arange(len(acts)), contexts, 0.6, seed=1)
    targets = (acts.astype(np.float64) ** 2).sum(-1, keepdims=True)
    scores = linear_prediction_scores(acts, targets, split, torch.device("cpu"))
    groups, n_groups = split.test_groups()
    assert scores.groups == n_groups
    np.testing.assert_allclose(scores.r2_by_output_replicates(np.ones((1, n_groups)))[0], scores.r2_by_output)
    alone = np.zeros((1, n_groups))
    alone[0, 3] = 1
    mine = groups == 3
    probe = LinearRegression().fit(acts[split.train].astype(np.float64), targets[split.is_train])
    expected = sklearn_r2(
        targets[~split.is_train][mine], probe.predict(acts[split.test][mine].astype(np.float64))
    )
    assert scores.r2_by_output_replicates(alone)[0, 0] == pytest.approx(expected, abs=1e-6)


def test_scalar_prediction_of_one_error_norm_from_another():
    rng = np.random.default_rng(7)
    source = rng.exponential(size=20_000)
    split = split_tokens(np.arange(20_000), 0.6, seed=0)
    assert scalar_prediction_r2(source, 2 * source + 1, split) == pytest.approx(1.0)
    noisy = source + rng.normal(scale=source.std(), size=20_000)
    assert scalar_prediction_r2(source, noisy, split) == pytest.approx(0.5, abs=0.02)
    two = np.column_stack([source, noisy - source])
    assert scalar_prediction_r2(two, noisy, split) == pytest.approx(1.0), "Eq. 10: a second regressor"


def test_group_means_equal_least_squares_on_one_hot_codes():
    rng = np.random.default_rng(8)
    groups = rng.integers(0, 30, size=3000)
    target = rng.normal(size=30)[groups] + rng.normal(scale=0.5, size=3000)
    split = split_tokens(np.arange(3000), 0.6, seed=2)
    one_hot = np.eye(30)[groups]
    reference = LinearRegression().fit(one_hot[split.is_train], target[split.is_train])
    expected = sklearn_r2(target[~split.is_train], reference.predict(one_hot[~split.is_train]))
    assert group_mean_r2(groups, target, split) == pytest.approx(expected, abs=1e-9)
    by_context = split_by_context(np.arange(3000), np.arange(3000) // 30, 0.6, seed=2)
    scores = group_mean_scores(groups, target, by_context)
    n_contexts = by_context.test_groups()[1]
    assert scores.r2_replicates(np.ones((2, n_contexts))) == pytest.approx([scores.r2] * 2)
    assert scores.r2_replicates(np.eye(n_contexts)[:3] * n_contexts).shape == (3,), "one R² per resample"


def test_values_at_store_rows_are_nan_where_a_row_left_the_split():
    split = split_tokens(np.array([2, 3, 5, 8, 9]), 0.6, seed=0)
    values = np.array([20.0, 30.0, 50.0, 80.0, 90.0])  # one per row of the split
    np.testing.assert_array_equal(
        split.values_at(values, np.array([0, 2, 4, 5, 9, 10])), [np.nan, 20.0, np.nan, 50.0, 90.0, np.nan]
    )


def test_every_norm_of_fig7_is_a_field_of_the_decomposition():
    acts = sparse_activations(seed=2)
    result = decompose(top4, acts, split_tokens(np.arange(len(acts)), 0.6, seed=0), torch.device("cpu"))
    assert len(NORMS) == 6
    for vector, field in NORMS.items():
        assert result.norm(vector) is getattr(result, field)


def test_norm_baselines_each_explain_what_the_error_norm_is_made_of():
    """An error norm set by the token's identity is explained by the token-identity baseline; one
    set by the activation norm, by the activation-norm baseline; the loss, unrelated, explains none."""
    rng = np.random.default_rng(3)
    split = split_tokens(np.arange(5000), 0.6, seed=1)
    token_ids, input_norm = rng.integers(0, 20, size=5000), rng.uniform(1, 2, size=5000)
    l0, loss = rng.integers(10, 20, size=5000), rng.exponential(size=5000)
    by_token = (1 + np.arange(20.0))[token_ids]
    for error_norm, explained_by in ((np.sqrt(by_token), "token identity"), (input_norm, "activation norm")):
        zeros = np.zeros(5000)
        d = ErrorDecomposition(
            split, None, None, 0.0, 0.0, 0.0, 0.25, input_norm, zeros, error_norm, zeros, zeros, zeros, zeros
        )
        r2 = norm_baselines_r2(d, token_ids, l0, loss, split)
        assert r2["activation probe"] == 0.25, "the probe's own test R², passed through"
        assert r2[explained_by] > 0.95
        assert abs(r2["model loss"]) < 0.01 and abs(r2["SAE L0"]) < 0.01


def test_x_minus_the_linear_error_is_the_linear_prediction_of_the_reconstruction():
    """§6's third vector: Sae(x) + NonlinearError(x) = x - b(x) is the least-squares affine
    prediction of Sae(x) from x, because least squares is linear in its target."""
    x = torch.from_numpy(sparse_activations(n=2000)).double()
    reconstruction = top4(x)
    predicted_error = fit_affine(x, x - reconstruction)(x)
    torch.testing.assert_close(fit_affine(x, reconstruction)(x), x - predicted_error, rtol=1e-6, atol=1e-8)
