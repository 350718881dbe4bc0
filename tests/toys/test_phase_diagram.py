import pytest
import torch

from helpers.book.random_source import RandomSource
from helpers.toys.models import SparseFeatures, ToyModel, weighted_mse_per_instance
from helpers.toys.phase_diagram import (
    DEDICATED,
    NOT_REPRESENTED,
    SUPERPOSITION,
    analytic_phases,
    dedicated_loss,
    empirical_phases,
    expected_loss,
    gauss_legendre_on_unit_interval,
    not_represented_loss,
    optimal_antipodal,
    paper_regimes,
    phase_grid,
    phase_names,
    phase_sequence,
    relu_error_integral,
    row_with_all_phases,
)


def monte_carlo_loss(W, b, importance, density, batches=40, batch_size=20_000):
    """The paper's loss `Σ_i I_i (x_i - x'_i)²` estimated with the book's own model and data."""
    model = ToyModel(len(density), 2, W.shape[1])
    with torch.no_grad():
        model.W.copy_(W)
        model.b.copy_(b)
    features = SparseFeatures(density[:, None].expand(-1, 2).contiguous())
    weights = torch.stack([torch.ones_like(importance), importance], dim=1)
    source, total = RandomSource(0), torch.zeros(len(density))
    with torch.no_grad():
        for _ in range(batches):
            x = features.sample(batch_size, source)
            total += 2 * weighted_mse_per_instance(x, model(x), weights)  # mean over 2 features -> sum
    return total / batches


def test_not_represented_loss_matches_monte_carlo():
    importance = torch.tensor([0.1, 1.0, 3.0, 10.0])
    density = torch.tensor([1.0, 0.5, 0.1, 0.03])
    W = torch.tensor([[[1.0, 0.0]]]).expand(4, -1, -1)
    b = torch.stack([torch.zeros(4), density / 2], dim=1)  # the extra feature's bias predicts its mean
    estimate = monte_carlo_loss(W, b, importance, density)
    closed_form = not_represented_loss(importance, density)
    assert torch.allclose(estimate, closed_form, rtol=0.03)


def test_expected_loss_matches_monte_carlo_for_any_weights():
    generator = torch.Generator().manual_seed(0)
    W, b = torch.randn(5, 1, 2, generator=generator), 0.3 * torch.randn(5, 2, generator=generator)
    importance = torch.tensor([0.2, 0.7, 1.0, 4.0, 9.0])
    density = torch.tensor([1.0, 0.6, 0.3, 0.1, 0.05])
    exact = expected_loss(W, b, importance, density).float()
    assert torch.allclose(monte_carlo_loss(W, b, importance, density), exact, rtol=0.03)


def test_expected_loss_of_the_candidates_matches_their_closed_forms():
    importance, density = torch.tensor([0.5, 2.0]), torch.tensor([0.2, 0.9])
    mean_bias = (density / 2)[:, None]
    dropped = expected_loss(
        torch.tensor([[[1.0, 0.0]]]).expand(2, -1, -1),
        torch.cat([torch.zeros(2, 1), mean_bias], 1),
        importance,
        density,
    )
    dedicated = expected_loss(
        torch.tensor([[[0.0, 1.0]]]).expand(2, -1, -1),
        torch.cat([mean_bias, torch.zeros(2, 1)], 1),
        importance,
        density,
    )
    assert torch.allclose(dropped, not_represented_loss(importance, density).double(), atol=1e-7)
    assert torch.allclose(dedicated, dedicated_loss(importance, density).double(), atol=1e-7)


@pytest.mark.parametrize(
    ("t0", "t1", "s", "slope"), [(0.3, 1.0, -0.2, 0.8), (0.5, 0.0, 0.4, -1.3), (0.0, 1.0, -0.5, 0.0)]
)
def test_relu_error_integral_matches_fine_quadrature(t0, t1, s, slope):
    v = (torch.arange(200_000, dtype=torch.float64) + 0.5) / 200_000
    numeric = ((t0 + t1 * v - torch.relu(s + slope * v)) ** 2).mean()
    exact = relu_error_integral(*(torch.tensor(value, dtype=torch.float64) for value in (t0, t1, s, slope)))
    assert abs(exact.item() - numeric.item()) < 1e-8


def test_gauss_legendre_integrates_polynomials_exactly():
    nodes, weights = gauss_legendre_on_unit_interval(4)
    assert abs(weights.sum().item() - 1) < 1e-12
    assert abs((weights * nodes**7).sum().item() - 1 / 8) < 1e-12


def test_antipodal_optimum_beats_a_grid_search():
    importance, density = torch.tensor([1.0, 0.3]), torch.tensor([0.1, 0.3])
    loss, W, b = optimal_antipodal(importance, density)
    assert W[:, 0, 0].min() > 0 and W[:, 0, 1].max() < 0  # still antipodal
    values = torch.linspace(0.6, 1.3, 8)
    biases = torch.linspace(-0.2, 0.1, 7)
    a, c, b0, b1 = (t.flatten() for t in torch.meshgrid(values, values, biases, biases, indexing="ij"))
    grid_W = torch.stack([a, -c], dim=1)[:, None, :]
    for cell in range(2):
        n = len(a)
        searched = expected_loss(
            grid_W, torch.stack([b0, b1], 1), importance[cell].expand(n), density[cell].expand(n)
        )
        assert loss[cell] <= searched.min() + 1e-9


def test_limits_classify_as_the_paper_says():
    importance = torch.tensor([0.2, 5.0, 0.1, 1.0, 10.0])
    density = torch.tensor([1.0, 1.0, 0.003, 0.003, 0.003])
    diagram = analytic_phases(importance, density, steps=300)
    # dense: the more important feature takes the dimension; very sparse: superposition at any importance
    assert diagram.phase.tolist() == [NOT_REPRESENTED, DEDICATED, SUPERPOSITION, SUPERPOSITION, SUPERPOSITION]
    assert torch.equal(diagram.optimal_loss, diagram.losses.min(dim=1).values)


def test_empirical_phases_read_norms_and_refuse_bad_shapes():
    W = torch.tensor([[[1.0, 0.1]], [[0.2, -0.9]], [[0.8, -0.7]], [[0.1, 0.2]]])
    assert empirical_phases(W).tolist() == [NOT_REPRESENTED, DEDICATED, SUPERPOSITION, NOT_REPRESENTED]
    with pytest.raises(ValueError, match=r"\[cells, hidden, 2\]"):
        empirical_phases(torch.ones(3, 1, 5))


def test_bad_cells_get_a_clear_error():
    with pytest.raises(ValueError, match="density must be in"):
        not_represented_loss(torch.tensor([1.0]), torch.tensor([1.5]))
    with pytest.raises(ValueError, match="relative importance must be positive"):
        dedicated_loss(torch.tensor([0.0]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="one value per cell"):
        analytic_phases(torch.ones(3), torch.ones(2))
    with pytest.raises(ValueError, match="for 2 cells"):
        expected_loss(torch.ones(3, 1, 2), torch.zeros(3, 2), torch.ones(2), torch.ones(2))


def test_phase_grid_is_density_major():
    importance, density = phase_grid(torch.tensor([0.5, 1.0, 2.0]), torch.tensor([0.25, 1.0]))
    assert importance.tolist() == [0.5, 1.0, 2.0, 0.5, 1.0, 2.0]
    assert density.tolist() == [0.25, 0.25, 0.25, 1.0, 1.0, 1.0]


def test_phase_rows_merge_repeats_and_read_as_words():
    row = torch.tensor([NOT_REPRESENTED, NOT_REPRESENTED, SUPERPOSITION, DEDICATED, DEDICATED])
    assert phase_sequence(row) == [NOT_REPRESENTED, SUPERPOSITION, DEDICATED]
    assert phase_names(row) == "dropped → superposition → dedicated"


def test_paper_regimes_and_the_row_with_all_phases():
    N, D, S = NOT_REPRESENTED, DEDICATED, SUPERPOSITION
    importance = torch.tensor([0.1, 0.5, 1.0, 2.0, 10.0])
    grid = torch.tensor(
        [
            [S, S, S, S, S],  # sparsest row: superposition everywhere
            [N, S, S, D, D],  # all three, in order
            [N, N, S, D, D],  # all three, in order
            [N, N, N, D, D],  # densest row: dropped below r = 0.9, dedicated above 1.1
        ]
    )
    assert paper_regimes(grid, importance) == (True, True, True)
    assert row_with_all_phases(grid) == 2  # the middle one of rows 1 and 2
    shuffled = grid.clone()
    shuffled[1:3] = torch.tensor([N, D, S, D, D])  # superposition after dedicated: not the paper's order
    shuffled[-1, 0] = S
    assert paper_regimes(shuffled, importance) == (False, True, False)
    assert row_with_all_phases(torch.full((3, 4), N)) == 1  # none: the middle row
