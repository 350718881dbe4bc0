"""Toy Models of Superposition (Elhage et al. 2022): models, synthetic data and training.

Many models ("instances") train at once as the leading dimension of one set of tensors:
a sweep over sparsities, importances or seeds is one model and one optimizer step, not a
Python loop of models. Shapes: `W` is `[instances, hidden, features]`, data is
`[instances, batch, features]`, so each instance's matmuls are one batched `bmm`.

Both models are two layers, `y = act_out(W_out act_hidden(W_in x) + b)`, and train on an
importance-weighted MSE whose gradient `two_layer_gradients` writes in closed form: five passes
over the `[instances, batch, features]` tensors instead of the dozen that autograd's graph walks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from helpers.book.random_source import RandomSource


def _xavier_normal(n_instances: int, rows: int, cols: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(n_instances, rows, cols, generator=generator) * (2.0 / (rows + cols)) ** 0.5


class ToyModel(nn.Module):
    """`h = W x`, `x' = act(Wᵀ h + b)`, one independent model per instance.

    `activation` is `"relu"` (the paper's model) or `"linear"` (no nonlinearity on the output).
    `hidden_relu=True` puts a ReLU on `h` as well: the privileged-basis model, whose hidden
    dimensions are neurons.
    """

    ACTIVATIONS = ("relu", "linear")

    def __init__(
        self,
        n_instances: int,
        n_features: int,
        n_hidden: int,
        activation: str = "relu",
        hidden_relu: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation = {activation!r}: choose one of {', '.join(self.ACTIVATIONS)}.")
        self.activation = activation
        self.hidden_relu = hidden_relu
        # Xavier-normal per instance, as in the reference code; the bias starts at zero.
        self.W = nn.Parameter(_xavier_normal(n_instances, n_hidden, n_features, generator).to(device))
        self.b = nn.Parameter(torch.zeros(n_instances, n_features, device=device))

    @property
    def n_instances(self) -> int:
        return self.W.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.bmm(x, self.W.transpose(1, 2))
        if self.hidden_relu:
            hidden = torch.relu(hidden)
        out = torch.baddbmm(self.b[:, None, :], hidden, self.W)
        return torch.relu(out) if self.activation == "relu" else out

    @staticmethod
    def target(x: torch.Tensor) -> torch.Tensor:
        """What the model is trained to output: its input."""
        return x

    def set_gradients(
        self, x: torch.Tensor, importance: torch.Tensor, with_loss: bool
    ) -> torch.Tensor | None:
        """Write the gradient of the summed per-instance loss on `x` into `.grad` (closed form);
        return the per-instance loss when `with_loss`."""
        d_in, d_out, d_b, loss = two_layer_gradients(
            x,
            x,
            self.W,
            self.W.transpose(1, 2),
            self.b,
            self.hidden_relu,
            self.activation == "relu",
            importance,
            with_loss,
        )
        self.W.grad = d_in.add_(d_out.transpose(1, 2))  # the one matrix is both layers
        self.b.grad = d_b
        return loss


class AbsoluteValueModel(nn.Module):
    """Computation in superposition: `y = ReLU(W_out ReLU(W_in x) + b)` trained towards `|x|`.

    `W_in` is `[instances, neurons, features]`, `W_out` is `[instances, features, neurons]`.
    """

    def __init__(
        self,
        n_instances: int,
        n_features: int,
        n_neurons: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        self.W_in = nn.Parameter(_xavier_normal(n_instances, n_neurons, n_features, generator).to(device))
        self.W_out = nn.Parameter(_xavier_normal(n_instances, n_features, n_neurons, generator).to(device))
        self.b = nn.Parameter(torch.zeros(n_instances, n_features, device=device))

    @property
    def n_instances(self) -> int:
        return self.W_in.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        neurons = torch.relu(torch.bmm(x, self.W_in.transpose(1, 2)))
        return torch.relu(torch.baddbmm(self.b[:, None, :], neurons, self.W_out.transpose(1, 2)))

    @staticmethod
    def target(x: torch.Tensor) -> torch.Tensor:
        return x.abs()

    def set_gradients(
        self, x: torch.Tensor, importance: torch.Tensor, with_loss: bool
    ) -> torch.Tensor | None:
        """As `ToyModel.set_gradients`."""
        d_in, d_out, d_b, loss = two_layer_gradients(
            x, x.abs(), self.W_in, self.W_out, self.b, True, True, importance, with_loss
        )
        self.W_in.grad, self.W_out.grad, self.b.grad = d_in, d_out, d_b
        return loss


@dataclass(frozen=True)
class SparseFeatures:
    """The synthetic data of a toy task.

    Feature `f` of instance `i` fires with probability `probability[i, f]` and a magnitude uniform
    on (0, 1] (on (-1, 1] when `signed`). The first `2 * correlated_pairs` features come in pairs
    that always fire together; the next `2 * anticorrelated_pairs` in pairs that never do (each
    still fires with its own probability, which must then be at most 1/2); the rest are independent.
    A pair's probability is its first feature's.
    """

    probability: torch.Tensor
    correlated_pairs: int = 0
    anticorrelated_pairs: int = 0
    signed: bool = False

    def __post_init__(self) -> None:
        if self.probability.dim() != 2:
            raise ValueError(
                f"probability must be [instances, features]; got shape {tuple(self.probability.shape)}."
            )
        if ((self.probability <= 0) | (self.probability > 1)).any():
            raise ValueError("every feature probability must be in (0, 1].")
        paired = 2 * (self.correlated_pairs + self.anticorrelated_pairs)
        if min(self.correlated_pairs, self.anticorrelated_pairs) < 0 or paired > self.probability.shape[1]:
            raise ValueError(f"{paired} paired features do not fit in {self.probability.shape[1]} features.")
        anti = self.probability[:, 2 * self.correlated_pairs : paired : 2]
        if (anti > 0.5).any():
            raise ValueError("anticorrelated features need probability <= 0.5 (a pair fires with 2p).")

    @property
    def n_instances(self) -> int:
        return self.probability.shape[0]

    @property
    def n_features(self) -> int:
        return self.probability.shape[1]

    def to(self, device: torch.device | str) -> SparseFeatures:
        return SparseFeatures(
            self.probability.to(device), self.correlated_pairs, self.anticorrelated_pairs, self.signed
        )

    def sample(self, batch_size: int, source: RandomSource, common: bool = False) -> torch.Tensor:
        """A batch `[instances, batch, features]`.

        For independent features one uniform draw `u` per entry does both jobs: the feature fires
        when `u < p`, and then `1 - u/p` is uniform on (0, 1]. With `common=True` every instance
        transforms the same draws (common random numbers), so instances that differ only in their
        weights are compared on identical data.
        """
        device = self.probability.device
        p = self.probability[:, None, :]
        draws = 1 if common else self.n_instances
        u = source.uniform(draws, batch_size, self.n_features).to(device)
        x = torch.addcmul(torch.ones((), device=device), u, -1.0 / p).clamp_(min=0.0)
        n_paired = 2 * (self.correlated_pairs + self.anticorrelated_pairs)
        if n_paired:
            pair_p = p[:, :, :n_paired:2]
            draw = source.uniform(draws, batch_size, n_paired // 2).to(device)
            first = draw < pair_p
            second = first.clone()
            anti = slice(self.correlated_pairs, None)  # one draw picks at most one of an anticorrelated pair
            second[:, :, anti] = (draw[:, :, anti] >= pair_p[:, :, anti]) & (
                draw[:, :, anti] < 2 * pair_p[:, :, anti]
            )
            fires = torch.stack([first, second], dim=-1).flatten(-2)
            magnitude = 1.0 - source.uniform(draws, batch_size, n_paired).to(device)
            x[:, :, :n_paired] = magnitude * fires
        if self.signed:
            x = torch.where(x > 0, 2 * x - 1, x)
        return x


def weighted_mse_per_instance(
    target: torch.Tensor, output: torch.Tensor, importance: torch.Tensor
) -> torch.Tensor:
    """`mean over batch and features of I_f (x_f - x'_f)²`, one loss per instance.

    `importance` is `[features]` or `[instances, features]`. The importance-weighted sum over
    features is a matmul, which saves a third of the step compared with broadcasting the weights."""
    squared = (target - output).square()
    if importance.dim() == 1:
        weighted = squared @ importance
    else:
        weighted = torch.bmm(squared, importance[:, :, None]).squeeze(-1)
    return weighted.mean(dim=1) / target.shape[-1]


@torch.no_grad()
def two_layer_gradients(
    x: torch.Tensor,
    target: torch.Tensor,
    w_in: torch.Tensor,
    w_out: torch.Tensor,
    b: torch.Tensor,
    hidden_relu: bool,
    output_relu: bool,
    importance: torch.Tensor,
    with_loss: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Gradients of `sum_i weighted_mse_per_instance(target, y)` for `y = act(W_out act(W_in x) + b)`.

    `w_in` is `[instances, hidden, features]`, `w_out` `[instances, features, hidden]`, `act` a
    ReLU where asked and the identity elsewhere. Returns `(dW_in, dW_out, db, loss)`, `loss` the
    per-instance loss when `with_loss` and None otherwise (it costs two more passes).
    """
    batch, n_features = x.shape[1], x.shape[2]
    hidden = torch.bmm(x, w_in.transpose(1, 2))
    if hidden_relu:
        hidden.relu_()
    output = torch.baddbmm(b[:, None, :], hidden, w_out.transpose(1, 2))
    if output_relu:
        output.relu_()
    error = output - target
    loss = weighted_mse_per_instance(target, output, importance) if with_loss else None
    # d loss / d (pre-activation output) is `weight * error`, zero where the output ReLU is off.
    # `threshold_backward` is ReLU's own backward kernel: one pass, where `torch.where` takes ten
    # times longer on the CPU. The per-feature weight is folded into the small matrices instead of
    # being another pass over the batch.
    d_pre = torch.ops.aten.threshold_backward(error, output, 0.0) if output_relu else error
    weight = (importance if importance.dim() == 2 else importance[None, :]) * (2.0 / (batch * n_features))
    d_out = torch.bmm(d_pre.transpose(1, 2), hidden).mul_(weight[:, :, None])
    d_hidden = torch.bmm(d_pre, w_out * weight[:, :, None])
    if hidden_relu:
        d_hidden = torch.ops.aten.threshold_backward(d_hidden, hidden, 0.0)
    d_in = torch.bmm(d_hidden.transpose(1, 2), x)
    return d_in, d_out, d_pre.sum(dim=1).mul_(weight), loss


@dataclass
class TrainingLog:
    """Per-instance loss recorded every `every` steps: `losses` is `[records, instances]`."""

    steps: list[int]
    losses: torch.Tensor
    seconds: float


def train_toy_model(
    model: ToyModel | AbsoluteValueModel,
    features: SparseFeatures,
    importance: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    source: RandomSource,
    log_every: int = 100,
    progress: bool = True,
) -> TrainingLog:
    """Train all instances at once: AdamW, constant learning rate, loss summed over instances
    (so each instance follows its own loss's gradient)."""
    if features.n_instances != model.n_instances:
        raise ValueError(f"the data has {features.n_instances} instances, the model {model.n_instances}.")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)
    recorded_steps: list[int] = []
    recorded: list[torch.Tensor] = []
    start = time.perf_counter()
    for step in tqdm(range(steps), desc="training toy models", disable=not progress, mininterval=2):
        x = features.sample(batch_size, source)
        logged = step % log_every == 0 or step == steps - 1
        per_instance = model.set_gradients(x, importance, with_loss=logged)
        optimizer.step()
        if logged:
            recorded_steps.append(step)
            recorded.append(per_instance.cpu())
    return TrainingLog(recorded_steps, torch.stack(recorded), time.perf_counter() - start)


@torch.no_grad()
def evaluate_loss(
    model: ToyModel | AbsoluteValueModel,
    features: SparseFeatures,
    importance: torch.Tensor,
    n_samples: int,
    source: RandomSource,
    chunk: int = 4096,
) -> torch.Tensor:
    """Per-instance loss on fresh samples, every instance seeing the same draws (see `sample`)."""
    total = torch.zeros(model.n_instances, device=importance.device)
    done = 0
    while done < n_samples:
        size = min(chunk, n_samples - done)
        x = features.sample(size, source, common=True)
        total += weighted_mse_per_instance(model.target(x), model(x), importance) * size
        done += size
    return (total / n_samples).cpu()


def repeat_per_seed(settings: torch.Tensor, seeds_per_setting: int) -> torch.Tensor:
    """Lay out instances setting-major: instance `s * seeds + k` is seed `k` of setting `s`."""
    return settings.repeat_interleave(seeds_per_setting, dim=0)


def lowest_loss_instances(losses: torch.Tensor, seeds_per_setting: int) -> torch.Tensor:
    """Index (into all instances) of the lowest-loss seed of each setting."""
    if losses.numel() % seeds_per_setting:
        raise ValueError(f"{losses.numel()} instances do not split into groups of {seeds_per_setting} seeds.")
    per_setting = losses.reshape(-1, seeds_per_setting)
    offsets = torch.arange(per_setting.shape[0]) * seeds_per_setting
    return offsets + per_setting.argmin(dim=1)
