"""Gradient pursuit on dictionaries whose sparse codes are known."""

import pytest
import torch

from helpers.pursuit import gradient_pursuit


def dictionary(width=64, d=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    atoms = torch.randn(width, d, generator=generator)
    return atoms / atoms.norm(dim=-1, keepdim=True), generator


def sparse_codes(n, width, k, generator):
    codes = torch.zeros(n, width)
    support = torch.rand(n, width, generator=generator).argsort(-1)[:, :k]
    codes.scatter_(1, support, 0.5 + torch.rand(n, k, generator=generator))
    return codes


def test_orthonormal_atoms_give_the_code_back_exactly():
    atoms = torch.linalg.qr(torch.randn(32, 32, generator=torch.Generator().manual_seed(1)))[0].T
    codes = sparse_codes(200, 32, 4, torch.Generator().manual_seed(2))
    bias = torch.full((32,), 0.3)
    x = codes @ atoms + bias
    reconstruction = gradient_pursuit(x, atoms, bias, torch.full((200,), 4))
    torch.testing.assert_close(reconstruction, x, atol=1e-5, rtol=1e-5)


def test_overcomplete_dictionary_recovers_most_of_a_sparse_signal():
    atoms, generator = dictionary(width=128, d=48)
    codes = sparse_codes(500, 128, 3, generator)
    x = codes @ atoms
    reconstruction = gradient_pursuit(x, atoms, torch.zeros(48), torch.full((500,), 3))
    fvu = (x - reconstruction).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert fvu < 0.02


def test_never_worse_than_a_tied_topk_sae_at_equal_l0():
    """The SAE's k atoms with its own (encoder) weights are one candidate code at that L0.
    Pursuit's total error is far below the SAE's; greedy and a few line-search steps are not
    optimal token by token, so a rare token (here 1 in 400) comes out a little worse."""
    atoms, generator = dictionary(width=96, d=40, seed=3)
    codes = sparse_codes(400, 96, 5, generator)
    x = codes @ atoms + 0.05 * torch.randn(400, 40, generator=generator)
    pre = x @ atoms.T
    top = pre.topk(5, dim=-1)
    sae_codes = torch.zeros_like(pre).scatter(1, top.indices, top.values.clamp_min(0))
    sae_error = (x - sae_codes @ atoms).pow(2).sum(-1)
    l0 = (sae_codes > 0).sum(-1)
    pursuit_error = (x - gradient_pursuit(x, atoms, torch.zeros(40), l0)).pow(2).sum(-1)
    assert pursuit_error.mean() < 0.5 * sae_error.mean()
    assert (pursuit_error > sae_error + 1e-5).float().mean() <= 0.01


def test_each_token_stops_at_its_own_l0():
    atoms = torch.eye(8)
    x = torch.tensor([[5.0, 4, 3, 2, 1, 0, 0, 0]]).repeat(3, 1)
    reconstruction = gradient_pursuit(x, atoms, torch.zeros(8), torch.tensor([0, 2, 5]))
    torch.testing.assert_close(reconstruction[0], torch.zeros(8))
    torch.testing.assert_close(reconstruction[1], torch.tensor([5.0, 4, 0, 0, 0, 0, 0, 0]))
    torch.testing.assert_close(reconstruction[2], x[2])


def test_weights_stay_non_negative():
    atoms = torch.eye(4)
    x = torch.tensor([[-3.0, -1.0, 2.0, 0.5]])
    reconstruction = gradient_pursuit(x, atoms, torch.zeros(4), torch.tensor([3]))
    assert (reconstruction >= 0).all() and reconstruction[0, 2] == pytest.approx(2.0)


def test_bad_inputs_fail_with_a_message():
    atoms = torch.eye(4)
    with pytest.raises(ValueError, match="dimensions"):
        gradient_pursuit(torch.zeros(2, 5), atoms, torch.zeros(5), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="one L0 per token"):
        gradient_pursuit(torch.zeros(2, 4), atoms, torch.zeros(4), torch.tensor([1]))
    with pytest.raises(ValueError, match="width = 4"):
        gradient_pursuit(torch.zeros(1, 4), atoms, torch.zeros(4), torch.tensor([5]))
