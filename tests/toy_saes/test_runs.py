import pandas as pd
import pytest
import torch

from helpers.profiles import ToySaes
from helpers.toy_saes.latent_metrics import match_latents
from helpers.toy_saes.runs import (
    N_LINEAR_FEATURES,
    SAERun,
    SAETrainer,
    census,
    clean_features_by_run,
    expected_mse,
    feature_list,
    linear_features,
    lowest_loss_instance,
)
from helpers.toy_saes.sae import ToySAE
from helpers.toy_saes.true_features import TrueFeatures, orthogonal_vectors


def vectors(n: int = N_LINEAR_FEATURES, d: int = 50) -> torch.Tensor:
    return orthogonal_vectors(n, d, torch.Generator().manual_seed(0))


def test_the_posts_twenty_features_put_4_to_8_on_top_of_expected_mse():
    data = linear_features(vectors())
    assert data.probability[0] == pytest.approx(0.015) and data.probability[-1] == pytest.approx(0.3)
    assert data.magnitude[0] == 20 and data.magnitude[-1] == 1
    top = set(torch.topk(expected_mse(data), 5).indices.tolist())
    assert top == {4, 5, 6, 7, 8}, "the post: features 4-8"
    with pytest.raises(ValueError, match="20 features"):
        linear_features(vectors(10))


def test_marginal_probability_counts_forced_and_conditional_co_occurrence():
    torch.manual_seed(0)
    forced = TrueFeatures(vectors(3, 8), torch.tensor([0.2, 0.3, 0.1]), forced_parents={1: 0, 2: 0})
    conditional = TrueFeatures(vectors(3, 8), torch.tensor([0.3, 0.4, 0.2]), conditional_children={1: 0})
    for data in (forced, conditional):
        observed = (data.sample(200_000)[1] > 0).float().mean(dim=0)
        assert torch.allclose(observed, data.marginal_probability(), atol=0.005)
    assert forced.marginal_probability()[0] == pytest.approx(1 - 0.8 * 0.7 * 0.9)
    parents = {5: 12, 7: 12}
    raised = expected_mse(linear_features(vectors(), forced_parents=parents))
    assert raised[12] > expected_mse(linear_features(vectors()))[12], "a forced parent fires more often"


def table(rows: list[tuple[bool, int, float]]) -> pd.DataFrame:
    live, feature, cos = zip(*rows, strict=True)
    return pd.DataFrame({"live": live, "feature": feature, "decoder_cos": cos}).rename_axis("latent")


def test_census_reads_clean_duplicate_broken_and_dead_latents():
    counted = census(
        table([(True, 0, 0.99), (True, 1, 0.97), (True, 1, 0.96), (True, 2, 0.7), (False, 3, 0.99)])
    )
    assert counted.clean == {0: 0, 1: 1} or counted.clean == {0: 0, 1: 2}
    assert counted.duplicates == 1 and counted.broken == (3,) and counted.dead == 1
    assert counted.extras == 2 and not counted.is_exactly({0, 1})
    exact = census(table([(True, 2, 0.99), (True, 0, 0.98), (False, 0, -0.1)]))
    assert exact.extras == 0 and exact.is_exactly({0, 2}) and not exact.is_exactly({0, 1, 2})
    assert census(table([(True, 0, 0.93)]), clean_cosine=0.9).is_exactly({0})


def test_seed_counts_and_tables_read_each_seeds_census():
    seeds = [
        census(table([(True, 0, 0.99), (True, 1, 0.99), (False, 0, 0.1)])),  # exact {0, 1}
        census(table([(True, 0, 0.99), (True, 1, 0.99), (True, 1, 0.97)])),  # a duplicate
        census(table([(True, 0, 0.99), (True, 2, 0.5), (False, 1, 0.99)])),  # a broken latent
        census(table([(False, 0, 0.99), (False, 1, 0.99)])),  # all dead
    ]
    matchings = [match_latents(torch.ones(1, 1))] * len(seeds)
    run = SAERun(None, None, None, [], seeds, matchings, best=1, seconds=0.0)  # only the censuses
    assert run.seeds_exact({0, 1}) == 1 and run.seeds_exact(set()) == 1
    assert run.seeds_with_extras() == 2 and run.kept is seeds[1]
    clean = clean_features_by_run({"a": run, "b": run})
    assert list(clean.columns) == ["a", "b"] and list(clean["a"]) == ["0, 1", "0, 1", "0", "none"]


def test_feature_lists_are_sorted_or_say_none():
    assert feature_list({8, 3, 5}) == "3, 5, 8" and feature_list(set()) == "none"


def test_the_kept_instance_is_the_one_with_the_lowest_held_out_loss():
    data = TrueFeatures(torch.eye(4), 0.3)
    sae = ToySAE(2, 4, 4, tied=True)
    with torch.no_grad():
        sae.W_dec[0] = torch.eye(4)  # instance 0 reconstructs exactly; instance 1 is random
    torch.manual_seed(0)
    x, _ = data.sample(1000)
    assert lowest_loss_instance(sae, x, l1_coefficient=1e-3) == 0


def test_a_trained_run_reads_each_seed_and_keeps_the_lowest_loss_one():
    torch.manual_seed(0)
    data = TrueFeatures(vectors(4, 10), 0.2)
    training = ToySaes(samples=400_000, batch_size=1024, lr=1e-2, seeds=2, eval_samples=5_000)
    saes = SAETrainer(training, torch.Generator().manual_seed(0), d_sae=4, l1_coefficient=3e-2)
    run = saes.train(data, tied=True)
    assert len(run.tables) == len(run.census) == len(run.matchings) == 2 and run.best in (0, 1)
    assert run.data is data and run.x.shape == (5_000, 10)
    assert run.kept.is_exactly({0, 1, 2, 3}) and run.kept_matching_score > 0.99
    tally = run.tally()
    assert list(tally["kept"]) == ["←" if i == run.best else "" for i in range(2)]
    assert (tally["dead latents"] == 0).all() and tally["matching score"].max() > 0.99


def test_runs_of_one_trainer_draw_their_initialisation_in_call_order():
    """Two trainers on generators seeded alike give the same SAEs for the same sequence of calls."""
    data = TrueFeatures(vectors(4, 10), 0.2)
    training = ToySaes(samples=4096, batch_size=1024, lr=1e-2, seeds=2, eval_samples=1_000)
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        saes = SAETrainer(training, torch.Generator().manual_seed(3), d_sae=4, l1_coefficient=3e-2)
        weights.append([saes.train(data, tied).sae.W_dec.detach() for tied in (False, True)])
    for first, second in zip(*weights, strict=True):
        assert torch.equal(first, second)
    assert not torch.equal(weights[0][0], weights[0][1])
