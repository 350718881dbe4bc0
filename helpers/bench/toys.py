"""`make bench` rows for Parts I-II: the tms_sparsity sweep as one batched model against one model
per instance, and the toy SAEs of every seed at once against sae_lens's toy trainer once per seed."""

from __future__ import annotations

import torch
from sae_lens.saes.standard_sae import StandardTrainingSAE, StandardTrainingSAEConfig
from sae_lens.synthetic import train_toy_sae

from helpers.bench.framework import BenchSettings, Comparison
from helpers.book.random_source import RandomSource
from helpers.book.timing import timed, timed_with_cpu
from helpers.toy_saes.runs import N_LINEAR_FEATURES, linear_features
from helpers.toy_saes.sae import ToySAE, train_toy_saes
from helpers.toy_saes.true_features import SAMPLING_ROWS, orthogonal_vectors
from helpers.toys.models import SparseFeatures, ToyModel, repeat_per_seed, train_toy_model

WARM_UP_STEPS = 3


def toy_training_flops(n_instances: int, batch_size: int, n_features: int, n_hidden: int) -> int:
    """Matmul FLOPs of one toy-model training step: two `bmm`s forward, four backward."""
    return 3 * 2 * (2 * n_instances * batch_size * n_features * n_hidden)


def tms_sparsity_training(settings: BenchSettings) -> Comparison:
    """The tms_sparsity ReLU sweep (sparsities × seeds): one batched model vs one model per instance."""
    section, training = settings.profile.tms_sparsity, settings.profile.toy
    device, batch = settings.device, training.batch_size
    probability = 1 - torch.tensor(section.sparsities)
    probability = repeat_per_seed(probability, training.seeds_per_setting)
    probability = probability[:, None].expand(-1, section.n_features).contiguous().to(device)
    importance = (section.importance_decay ** torch.arange(section.n_features, dtype=torch.float32)).to(
        device
    )
    n_instances = probability.shape[0]
    init = torch.Generator().manual_seed(0)

    def batched(steps: int) -> None:
        model = ToyModel(n_instances, section.n_features, section.n_hidden, generator=init, device=device)
        train_toy_model(
            model,
            SparseFeatures(probability),
            importance,
            steps=steps,
            batch_size=batch,
            lr=training.lr,
            source=RandomSource(0, device),
            progress=False,
        )

    def one_model_per_instance(steps: int) -> None:
        source = RandomSource(1, device)
        for instance in range(n_instances):
            model = ToyModel(1, section.n_features, section.n_hidden, generator=init, device=device)
            optimizer = torch.optim.AdamW(model.parameters(), lr=training.lr)
            features = SparseFeatures(probability[instance : instance + 1])
            for _ in range(steps):
                x = features.sample(batch, source)
                loss = (importance * (x - model(x)) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    for way in (batched, one_model_per_instance):  # one-off costs (imports, kernel set-up) first
        way(WARM_UP_STEPS)
    steps = settings.steps
    ours, ours_cpu = timed_with_cpu(lambda: batched(steps), device)
    baseline, baseline_cpu = timed_with_cpu(lambda: one_model_per_instance(steps), device)
    features, source = SparseFeatures(probability), RandomSource(2, device)
    sampling = timed(lambda: [features.sample(batch, source) for _ in range(steps)], device)
    flops = toy_training_flops(n_instances, batch, section.n_features, section.n_hidden) * steps
    return Comparison(
        name="tms_sparsity sweep training",
        ours=f"{n_instances} instances as one batched model",
        ours_seconds=ours,
        baseline=f"{n_instances} ToyModel(1, ...) + AdamW each, in a loop",
        baseline_seconds=baseline,
        target_ratio=5.0,
        details={
            "instances": n_instances,
            "steps": steps,
            "batch_size": batch,
            "samples_x_instances_per_s": steps * batch * n_instances / ours,
            "baseline_samples_x_instances_per_s": steps * batch * n_instances / baseline,
            "achieved_gflops": flops / ours / 1e9,
            "sampling_share": sampling / ours,
            "cpu_seconds": ours_cpu,
            "baseline_cpu_seconds": baseline_cpu,
        },
        limited_by=(
            f"drawing the data takes {sampling / ours:.0%} of the batched time; the rest is a few "
            "memory-bound passes over [instances, batch, features] around matmuls with inner size "
            f"{section.n_hidden}, far too thin to approach the matmul ceiling"
        ),
    )


def toy_sae_training(settings: BenchSettings) -> Comparison:
    """Part II's narrow setting (20 features in 50-d, 5 latents), untied: every seed at once with
    `train_toy_saes` vs sae_lens's stock `train_toy_sae` (its `SAETrainer`) once per seed. Both
    draw from sae_lens's generator: ours once for all seeds and many batches per call, sae_lens
    once per step and seed. Target 4x."""
    training, device = settings.profile.toy_sae, settings.device
    data = linear_features(
        orthogonal_vectors(N_LINEAR_FEATURES, 50, torch.Generator().manual_seed(0)), device=device
    )
    batch, n_latents = training.batch_size, 5

    def batched(steps: int) -> None:
        sae = ToySAE(training.seeds, data.d_model, n_latents, tied=False, device=device)
        train_toy_saes(
            sae,
            data,
            samples=steps * batch,
            batch_size=batch,
            lr=training.lr,
            l1_coefficient=training.narrow_l1_coefficient,
            progress=False,
        )

    def sae_lens_per_seed(steps: int) -> None:
        for _ in range(training.seeds):
            config = StandardTrainingSAEConfig(
                d_in=data.d_model,
                d_sae=n_latents,
                l1_coefficient=training.narrow_l1_coefficient,
                device=str(device),
            )
            train_toy_sae(
                StandardTrainingSAE(config),
                data.feature_dictionary,
                data.activation_generator,
                training_samples=steps * batch,
                batch_size=batch,
                lr=training.lr,
                device=device,
            )

    for way in (batched, sae_lens_per_seed):
        way(WARM_UP_STEPS)
    steps = settings.steps
    ours = timed(lambda: batched(steps), device)
    baseline = timed(lambda: sae_lens_per_seed(steps), device)
    sampling = timed(lambda: list(data.batches(batch, steps)), device)
    stock_sampling = timed(lambda: [data.sample(batch) for _ in range(steps)], device)
    return Comparison(
        name="toy SAE training",
        ours=f"{training.seeds} seeds as one batched ToySAE",
        ours_seconds=ours,
        baseline=f"sae_lens train_toy_sae (SAETrainer), once per seed ({training.seeds})",
        baseline_seconds=baseline,
        target_ratio=4.0,
        details={
            "sampling_seconds": sampling,
            "stock_sampling_seconds_per_seed": stock_sampling,
            "seeds": training.seeds,
            "steps": steps,
            "batch_size": batch,
            "samples_x_seeds_per_s": steps * batch * training.seeds / ours,
            "baseline_samples_x_seeds_per_s": steps * batch * training.seeds / baseline,
            "sampling_share": sampling / ours,
        },
        limited_by=(
            f"drawing the data takes {sampling / ours:.0%} of ours ({SAMPLING_ROWS:,} rows per call to "
            f"sae_lens's generator; one call per batch, as sae_lens does per seed, takes "
            f"{stock_sampling / sampling:.1f}x as long); the rest is per-step overhead around "
            f"{training.seeds} x {n_latents} latents on {data.d_model} dimensions, a handful of tiny "
            "matmuls per step"
        ),
    )
