import matplotlib.pyplot as plt
import pytest
import torch

from helpers.toys.computation import neuron_order
from helpers.toys.figures import neuron_heatmap_row, norm_bar_grid, polytope_drawing

pytestmark = pytest.mark.usefixtures("strict_figures")


def test_grids_have_a_panel_per_setting_and_one_colour_bar():
    W = torch.randn(3, 2, 5)
    fig = norm_bar_grid({"a": W, "b": W}, ["one", "two", "three"], height=3)
    assert len(fig.axes) == 2 * 3 + 1 and fig.axes[0].get_title() == "one"
    fig = neuron_heatmap_row(torch.randn(3, 4, 6), ["one", "two", "three"], neuron_order, figsize=(6, 2))
    assert len(fig.axes) == 3 + 1


@pytest.mark.parametrize("dims", [2, 3])
def test_polytope_drawing_draws_a_spoke_per_feature(dims):
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d" if dims == 3 else None)
    polytope_drawing(ax, torch.randn(dims, 4), "four")
    spokes = [line for line in ax.lines if line.get_color() == "C0"]
    assert len(spokes) == 4 and ax.get_title() == "four"
