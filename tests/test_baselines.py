"""The simplest rules, checked against brute force: a threshold on one feature, a lookup by one input's value."""
import numpy as np
import pytest

import helpers


def brute_force_threshold_accuracy(values, positive):
    """The best training accuracy of any cut of `values` into 'positive above' or 'positive below'."""
    best = 0.0
    for cut in np.r_[-np.inf, np.unique(values)]:
        above = values > cut
        best = max(best, np.mean(above == positive), np.mean(above != positive))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_threshold_rule_finds_the_best_cut(seed):
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(80, 3)), 1)                 # rounded: ties between values
    y = np.where(X[:, 2] + rng.normal(scale=0.8, size=80) > 0.3, "yes", "no")
    rule = helpers.ThresholdRule(column=2).fit(X, y)
    training_accuracy = np.mean(rule.predict(X) == y)
    assert training_accuracy == pytest.approx(brute_force_threshold_accuracy(X[:, 2], y == "yes"))
    assert set(rule.predict(X)) <= {"yes", "no"}


def test_threshold_rule_refuses_more_than_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        helpers.ThresholdRule(0).fit(np.zeros((6, 1)), [0, 1, 2, 0, 1, 2])


def test_lookup_rule_predicts_each_groups_majority_and_the_overall_one_for_unseen_groups():
    X = np.array([[1, 0, 5.0], [1, 0, 6.0], [1, 0, 7.0], [0, 1, 1.0], [0, 1, 2.0]])
    labels = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 0]])
    rule = helpers.LookupRule(columns=[0, 1]).fit(X, labels)
    assert rule.predict(X).tolist() == [[1, 0, 0]] * 3 + [[0, 1, 0]] * 2
    assert rule.predict(np.array([[0, 0, 3.0]])).tolist() == [[1, 1, 0]]       # unseen: labels most rows have
    classes = np.array(["a", "a", "b", "c", "c"])
    single = helpers.LookupRule(columns=[0]).fit(X, classes)
    assert single.predict(X).tolist() == ["a", "a", "a", "c", "c"]
    with pytest.raises(ValueError, match="columns"):
        helpers.LookupRule().fit(X, classes)

