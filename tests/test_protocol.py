"""The protocol: one fixed test part per data set, seeds that vary only the rest, and the statistics of section 1."""
import numpy as np
import pytest
import pandas as pd
import helpers


def test_every_seed_shares_the_test_part_and_partitions_the_rest_anew():
    rows = np.arange(200)
    labels = rows % 4
    parts = {seed: helpers.train_val_test_split(rows, stratify=labels, seed=seed)[0] for seed in (0, 1, 2)}
    tests = [set(test) for _, _, test in parts.values()]
    assert tests[0] == tests[1] == tests[2]
    assert set(parts[0][0]) != set(parts[1][0])                              # training rows differ by seed
    for train, val, test in parts.values():
        assert set(train) | set(val) | set(test) == set(rows) and not set(train) & set(test)


def test_the_real_splits_keep_their_test_rows_over_seeds():
    first, second = helpers.wine_split(seed=0), helpers.wine_split(seed=3)
    assert np.array_equal(first.y_test, second.y_test)
    assert not np.array_equal(first.y_train, second.y_train)


def test_the_second_stage_picks_the_smallest_network_within_noise_of_the_best(monkeypatch):
    configs = [{"hidden_layers": [64, 32], "learning_rate": 0.01, "activation": "relu", "optimizer": "sgd",
                "batch_size": 16, "epochs": 100},
               {"hidden_layers": [32], "learning_rate": 0.01, "activation": "relu", "optimizer": "sgd",
                "batch_size": 16, "epochs": 100},
               {"hidden_layers": [16], "learning_rate": 0.01, "activation": "relu", "optimizer": "sgd",
                "batch_size": 16, "epochs": 100}]
    fold_scores = [[0.62, 0.60, 0.64, 0.61, 0.63], [0.61, 0.60, 0.63, 0.60, 0.63], [0.40, 0.41, 0.39, 0.40, 0.42]]

    def ranking(candidates, split, task, metric, name, folds):
        """cross_validated_ranking's table for these fold scores, without training."""
        table = pd.DataFrame({"fold_scores": fold_scores})
        table[f"cv_{metric}_mean"] = [np.mean(scores) for scores in fold_scores]
        table[f"cv_{metric}_std"] = [np.std(scores, ddof=1) for scores in fold_scores]
        table["cv_rank"] = table[f"cv_{metric}_mean"].rank(ascending=False).astype(int)
        table.attrs["provenance"] = "test"
        return table
    monkeypatch.setattr(helpers, "cross_validated_ranking", ranking)
    distinct = pd.DataFrame(configs).assign(val_accuracy=[0.6, 0.6, 0.6])
    rows = np.zeros((100, 1))
    split = helpers.Split(rows[:80], rows[80:], rows[80:], np.zeros(80), np.zeros(20), np.zeros(20), ["x"])
    table, chosen = helpers.cv_second_stage(distinct, split, "classification", "accuracy", "x", 3, 5)
    assert table.within_noise.tolist() == [True, True, False]
    assert chosen["hidden_layers"] == [32] and table.selected.tolist() == [False, True, False]


def test_identical_rows_hash_alike():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    hashes = helpers.identical_rows(X)
    assert hashes[0] == hashes[2] != hashes[1]


def test_decay_epochs_is_where_the_loss_has_fallen_most_of_the_way():
    history = {"val_loss": [1.0, 0.6, 0.3, 0.15, 0.1, 0.12]}
    assert helpers.decay_epochs(history, 0.9) == 4          # 1 − 0.9·(1 − 0.1) = 0.19, first reached by 0.15
    # Interpolated: 0.19 lies 0.11 / 0.15 of the way from epoch 3 (0.3) to epoch 4 (0.15).
    assert helpers.decay_epochs(history, 0.9, interpolate=True) == pytest.approx(3 + 0.11 / 0.15)
    assert helpers.decay_epochs({"val_loss": [0.1, 0.2, 0.3]}, 0.9, interpolate=True) == 1   # lowest at once


def test_a_claim_over_folds_averages_its_pairs_fold_by_fold_and_corrects_for_overlap():
    # Two pairs of trainings (depth 1 and 2 for each activation), three folds: the claim's difference per fold is the
    # mean over the pairs, and the interval is Nadeau and Bengio's over the folds, not a t over pairs × folds.
    rows = []
    for activation, offset in (("relu", 0.0), ("tanh", 0.1)):
        for fold, (deep, shallow) in enumerate([(0.5, 0.4), (0.6, 0.3), (0.7, 0.5)]):
            rows += [{"hidden_layers": [8, 8], "activation": activation, "fold": fold, "r2": deep + offset},
                     {"hidden_layers": [8], "activation": activation, "fold": fold, "r2": shallow}]
    table = pd.DataFrame(rows)
    result = helpers.paired_effect(table, "hidden_layers", [8, 8], [8], "r2", ["activation"], fold_sizes=(90, 10))
    per_fold = np.array([0.1, 0.3, 0.2]) + 0.05
    expected = helpers.paired_interval(per_fold, "", 1 / 3 + 10 / 90)
    assert np.isclose(result["difference"], expected["difference"])
    assert np.isclose(result["low"], expected["low"]) and np.isclose(result["high"], expected["high"])
    assert result["over"].startswith("2 matched trainings, 3 folds")
    # Without fold sizes every (pair, fold) cell would count as a training: the table has no such reading here.
    unfolded = helpers.paired_effect(table.drop(columns="fold"), "hidden_layers", [8, 8], [8], "r2", ["activation"])
    assert unfolded["over"] == "2 matched trainings"


def test_a_clustered_interval_matches_the_row_interval_for_singletons_and_widens_for_copies():
    rng = np.random.default_rng(0)
    model, baseline = rng.random((3, 200)) < 0.6, rng.random(200) < 0.5
    singletons = helpers.clustered_interval(model, baseline, np.arange(200), "")
    rows = helpers.seeds_and_rows_interval(model, baseline, "")
    assert np.allclose([singletons["low"], singletons["high"]], [rows["low"], rows["high"]])
    # Every row scored twice (a track listed under two genres, predicted alike): as rows the interval narrows by
    # about √2; as clusters it stays where one copy of each put it.
    doubled = helpers.seeds_and_rows_interval(np.repeat(model, 2, axis=1), np.repeat(baseline, 2), "")
    clustered = helpers.clustered_interval(np.repeat(model, 2, axis=1), np.repeat(baseline, 2),
                                           np.repeat(np.arange(200), 2), "")
    width = lambda interval: interval["high"] - interval["low"]
    assert width(doubled) < 0.8 * width(rows)
    assert abs(width(clustered) - width(rows)) < 0.02 * width(rows)
    with pytest.raises(ValueError, match="one label per scored row"):
        helpers.clustered_interval(model, baseline, np.arange(10), "")


def test_a_clustered_interval_reports_the_degrees_of_freedom_it_used():
    rng = np.random.default_rng(1)
    baseline = rng.random(300) < 0.5
    # Seeds that agree leave only the rows part: C − 1 degrees of freedom over C clusters.
    same_seeds = np.tile(rng.random(300) < 0.6, (3, 1))
    assert helpers.clustered_interval(same_seeds, baseline, np.arange(300) // 2, "")["freedom"] == pytest.approx(149)
    # Seeds that differ add a part with seeds − 1: Welch–Satterthwaite lies between the two counts' minimum and sum.
    varied = helpers.clustered_interval(rng.random((3, 300)) < 0.6, baseline, np.arange(300) // 2, "")
    assert 2 <= varied["freedom"] <= 151


def test_thinned_folds_cut_one_class_to_another_s_count_and_keep_the_test_parts():
    y = np.array([0] * 30 + [1] * 5 + [2] * 15)
    folds = [(np.arange(0, 40), np.arange(40, 50)), (np.arange(10, 50), np.arange(0, 10))]
    thinned = helpers.thinned_folds(y, folds, label=0, as_many_as=1)
    for (train, test), (kept, same_test) in zip(folds, thinned):
        assert np.array_equal(test, same_test)
        assert np.sum(y[kept] == 0) == np.sum(y[train] == 1)            # class 0 cut to class 1's count
        assert np.array_equal(kept[y[kept] != 0], train[y[train] != 0])   # every other row kept
        assert set(kept) <= set(train)
    assert np.array_equal(thinned[0][0], helpers.thinned_folds(y, folds, 0, 1)[0][0])   # seeded: repeats


def test_share_restoring_weights_give_the_thinned_class_its_full_weight_back():
    y = np.array([0] * 30 + [1] * 5 + [2] * 15)
    folds = [(np.arange(0, 40), np.arange(40, 50)), (np.arange(10, 50), np.arange(0, 10))]
    thinned = helpers.thinned_folds(y, folds, label=0, as_many_as=1)
    for (train, _), (kept, _), weights in zip(folds, thinned, helpers.share_restoring_weights(y, folds, thinned, 0)):
        assert set(weights) == {0}
        # Weighted, the thinned class counts as many rows as it had before thinning; the others are untouched.
        assert weights[0] * np.sum(y[kept] == 0) == pytest.approx(np.sum(y[train] == 0))
    assert helpers.share_restoring_weights(y, folds, thinned, 0)[0][0] == pytest.approx(30 / 5)


def test_batch_size_shown_writes_any_where_the_optimizer_ignores_it():
    records = [{"optimizer": "sgd", "batch_size": 16}, {"optimizer": "mini_batch_gd", "batch_size": 32},
               {"optimizer": "batch_gd", "batch_size": 64}]
    assert [row["batch_size"] for row in helpers.batch_size_shown(records)] == ["any", "32", "any"]


def test_best_on_validation_picks_the_highest_validation_score_and_the_first_of_a_tie():
    rng = np.random.default_rng(0)
    X_train, X_val = rng.normal(size=(60, 2)), rng.normal(size=(30, 2))
    y_train, y_val = (X_train[:, 0] > 0).astype(int), (X_val[:, 0] > 0).astype(int)
    candidates = [helpers.KNN(k) for k in (59, 1, 3)]
    scores = [helpers.KNN(k).fit(X_train, y_train).score(X_val, y_val) for k in (59, 1, 3)]
    chosen = helpers.best_on_validation(candidates, X_train, y_train, X_val, y_val)
    assert chosen is candidates[int(np.argmax(scores))]
    assert not hasattr(chosen, "classes_")                       # returned unfitted: the caller refits it
    twins = [helpers.KNN(3), helpers.KNN(3)]
    assert helpers.best_on_validation(twins, X_train, y_train, X_val, y_val) is twins[0]


def test_alike_candidates_names_the_pairs_that_score_alike_and_what_sets_them_apart():
    table = [{"cv_rank": 1, "epochs": 200, "activation": "tanh", "cv_mean": 0.85, "cv_std": 0.06},
             {"cv_rank": 3, "epochs": 200, "activation": "relu", "cv_mean": 0.84, "cv_std": 0.06},
             {"cv_rank": 4, "epochs": 100, "activation": "relu", "cv_mean": 0.84, "cv_std": 0.06},
             {"cv_rank": 2, "epochs": 100, "activation": "tanh", "cv_mean": 0.85, "cv_std": 0.07}]
    assert helpers.alike_candidates(table, ["cv_mean", "cv_std"], ["epochs", "activation"]) == [(3, 4, ["epochs"])]
    assert helpers.alike_candidates(table[:2], ["cv_mean", "cv_std"], ["epochs"]) == []


def test_effect_curves_drop_the_crowded_log_tick_on_a_wide_loss_span():
    import matplotlib
    matplotlib.use("Agg")
    epochs = list(range(1, 51))
    wide = {"epoch": epochs, "train_loss": list(np.geomspace(1.3, 0.1, 50)),
            "val_loss": list(np.geomspace(1.2, 0.9, 50)), "val_accuracy": [0.5] * 50}
    figure = helpers.plot_effect_curves({"run": wide}, "cross-entropy")
    training_ticks = figure.axes[0].yaxis.get_major_locator().tick_values(*figure.axes[0].get_ylim())
    validation_ticks = figure.axes[1].yaxis.get_major_locator().tick_values(*figure.axes[1].get_ylim())
    assert not np.any(np.isclose(training_ticks, 1.2))          # 1.2 beside 1.0 overlapped on a tenfold span
    assert np.any(np.isclose(validation_ticks, 1.2))            # a narrow span keeps it


def test_the_mse_bce_comparisons_over_re_split_seeds_are_corrected_for_their_shared_rows():
    """Each seed re-splits the same non-test rows, so its trainings share most rows: section 3.5's MSE − BCE
    intervals were plain t-intervals over the seeds, too narrow, until Nadeau and Bengio's correction was applied."""
    convergence = helpers.read_results("03_mse_vs_bce")["convergence"]
    comparisons = [convergence["mse_minus_bce"], convergence["validation_mse_minus_bce"],
                   *convergence["by_tolerance"], *convergence["per_rate"]]
    for comparison in comparisons:
        assert comparison["over"].endswith("seeds, corrected"), comparison["over"]
