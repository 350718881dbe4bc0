"""Gradient pursuit on dictionaries whose sparse codes are known."""

import pytest
import torch

from helpers.dark_matter import pursuit
from helpers.dark_matter.pursuit import PursuitReconstructor, gradient_pursuit, pursuit_code


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


def test_the_code_reconstructs_what_gradient_pursuit_returns_and_never_exceeds_its_l0():
    atoms, generator = dictionary(width=80, d=24, seed=4)
    x = sparse_codes(300, 80, 6, generator) @ atoms + 0.1 * torch.randn(300, 24, generator=generator)
    bias = 0.2 * torch.randn(24, generator=generator)
    l0 = torch.randint(0, 9, (300,), generator=generator)
    code = pursuit_code(x, atoms, bias, l0)
    assert code.weights.shape == (300, 8) and (code.weights >= 0).all()
    assert (code.l0 <= l0).all() and (code.l0 == l0).float().mean() > 0.9
    torch.testing.assert_close(code.decode(atoms, bias), gradient_pursuit(x, atoms, bias, l0))


def test_chunks_of_any_size_give_the_same_code(monkeypatch):
    atoms, generator = dictionary(width=40, d=16, seed=5)
    x = torch.randn(50, 16, generator=generator)
    l0 = torch.randint(1, 6, (50,), generator=generator)
    whole = gradient_pursuit(x, atoms, torch.zeros(16), l0)
    monkeypatch.setattr(pursuit, "PURSUIT_CHUNK_ROWS", 7)
    torch.testing.assert_close(gradient_pursuit(x, atoms, torch.zeros(16), l0), whole)


class TopKSae(torch.nn.Module):
    """A tied TopK SAE on a given dictionary: as much of sae_lens's interface as pursuit reads."""

    def __init__(self, atoms: torch.Tensor, bias: torch.Tensor, k: int):
        super().__init__()
        self.W_dec, self.b_dec, self.k = atoms, bias, k

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = (x - self.b_dec) @ self.W_dec.T
        top = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(1, top.indices, top.values.clamp_min(0))


def test_the_reconstructor_runs_pursuit_at_the_sae_l0_and_tallies_every_token():
    atoms, generator = dictionary(width=96, d=40, seed=6)
    x = sparse_codes(120, 96, 5, generator) @ atoms + 0.05 * torch.randn(120, 40, generator=generator)
    bias = torch.full((40,), 0.1)
    sae = TopKSae(atoms, bias, k=5)
    reconstruct = PursuitReconstructor(sae)
    first, second = reconstruct(x[:70]), reconstruct(x[70:])
    sae_l0 = (sae.encode(x) > 0).sum(-1)
    torch.testing.assert_close(torch.cat([first, second]), gradient_pursuit(x, atoms, bias, sae_l0))
    code_l0 = pursuit_code(x, atoms, bias, sae_l0).l0
    torch.testing.assert_close(reconstruct(x[50:90]), torch.cat([first, second])[50:90])
    assert reconstruct.tokens == 120, "a token seen before is remembered, not pursued or counted again"
    assert reconstruct.sae_l0_sum == int(sae_l0.sum())
    assert reconstruct.pursuit_l0_sum == int(code_l0.sum())
    assert reconstruct.tokens_at_sae_l0 == int((code_l0 == sae_l0).sum()) and reconstruct.max_l0_excess == 0
    assert reconstruct(x[:0]).shape == (0, 40)
