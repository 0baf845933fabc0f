"""Bad parameters and bad input: each gets a ValueError (or NotFittedError) whose message names the problem.
Also the engine bugs found by review, each with the input that exposed it."""
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError

import helpers


@pytest.fixture
def data():
    """The review's reproduction data: 40 rows, 3 features, a linear target and three classes."""
    X = np.random.default_rng(0).normal(size=(40, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]), np.arange(40) % 3


# --- constructor parameters: one table per class, each bad value with its own message ---------------------------
MLP_BAD_PARAMETERS = [
    ("hidden_layers", "12", "hidden_layers must be a list of positive integers (one per hidden layer) or one "
                            "positive integer; got '12'"),
    ("hidden_layers", [4, 0], "hidden_layers must be a list of positive integers"),
    ("hidden_layers", [4, 2.5], "hidden_layers must be a list of positive integers"),
    ("hidden_layers", None, "hidden_layers must be a list of positive integers"),
    ("activation", "swish", "activation must be one of 'sigmoid', 'tanh', 'relu', 'linear' (or a list of them, "
                            "one per hidden layer); got 'swish'"),
    ("activation", ["relu"], "give one activation, or one per hidden layer (2); got 1"),
    ("task", "ranking", "task must be one of 'classification', 'multilabel', 'regression'; got 'ranking'"),
    ("loss", "hinge", "loss must be one of 'cross_entropy', 'binary_cross_entropy', 'mse' or None; got 'hinge'"),
    ("optimizer", "rmsprop", "optimizer must be one of 'sgd', 'batch_gd', 'mini_batch_gd', 'momentum', 'adam'; "
                             "got 'rmsprop'"),
    ("learning_rate", 0, "learning_rate must be a finite number > 0; got 0"),
    ("learning_rate", np.inf, "learning_rate must be a finite number > 0; got inf"),
    ("learning_rate", "0.1", "learning_rate must be a finite number > 0; got '0.1'"),
    ("learning_rate", None, "learning_rate must be a finite number > 0; got None"),
    ("epochs", 0.5, "epochs must be an integer ≥ 1; got 0.5"),
    ("epochs", 10.0, "epochs must be an integer ≥ 1; got 10.0"),
    ("epochs", 0, "epochs must be an integer ≥ 1; got 0"),
    ("batch_size", 2.5, "batch_size must be an integer ≥ 1; got 2.5"),
    ("batch_size", True, "batch_size must be an integer ≥ 1; got True"),
    ("patience", 0, "patience must be an integer ≥ 1 or None; got 0"),
    ("alpha", -0.1, "alpha must be a finite number ≥ 0; got -0.1"),
    ("alpha", np.nan, "alpha must be a finite number ≥ 0; got nan"),
    ("threshold", 1.0, "threshold must be a number in (0, 1); got 1.0"),
    ("threshold", 0, "threshold must be a number in (0, 1); got 0"),
    ("shuffle", "yes", "shuffle must be True or False; got 'yes'"),
    ("seed", -1, "seed must be an integer ≥ 0 or None; got -1"),
]


@pytest.mark.parametrize("name, value, message", MLP_BAD_PARAMETERS, ids=lambda v: repr(v)[:30])
def test_bad_mlp_parameters_are_named_in_fit(name, value, message, data):
    X, y, _ = data
    model = helpers.MLP(**{"hidden_layers": [4, 4], "task": "regression", name: value})
    with pytest.raises(ValueError) as error:
        model.fit(X, y)
    assert message in str(error.value)


def test_every_mlp_parameter_has_a_rule():
    assert set(helpers.MLP._parameter_rules) == set(helpers.MLP().get_params())
    assert set(helpers.AutoEncoder._parameter_rules) == set(helpers.AutoEncoder().get_params())
    assert set(helpers.KNN._parameter_rules) == set(helpers.KNN().get_params())
    assert set(helpers.PCA._parameter_rules) == set(helpers.PCA().get_params())


def test_hidden_layers_as_one_int_is_one_layer(data):
    X, y, _ = data
    model = helpers.MLPRegressor(5, epochs=2).fit(X, y)
    assert [weights.shape for weights in model.weights_] == [(3, 5), (5, 1)]


@pytest.mark.parametrize("estimator, message", [
    (helpers.KNN(k=0), "KNN: k must be an integer ≥ 1; got 0"),
    (helpers.KNN(k=2.5), "KNN: k must be an integer ≥ 1; got 2.5"),
    (helpers.KNN(metric="chebyshev"), "KNN: metric must be one of 'euclidean', 'manhattan', 'cosine'; got 'chebyshev'"),
    (helpers.KNN(n_jobs=0), "KNN: n_jobs must be None or -1 (all cores), or a positive number of threads; got 0"),
    (helpers.KNN(block_size=0), "KNN: block_size must be an integer ≥ 1; got 0"),
    (helpers.KNN(block_size=-5), "KNN: block_size must be an integer ≥ 1; got -5"),
    (helpers.PCA(0), "PCA: n_components must be an integer ≥ 1 or None; got 0"),
    (helpers.PCA(1.5), "PCA: n_components must be an integer ≥ 1 or None; got 1.5"),
    (helpers.AutoEncoder(latent_dim=0), "AutoEncoder: latent_dim must be an integer ≥ 1; got 0"),
    (helpers.AutoEncoder(activation=["tanh"]), "AutoEncoder: activation must be one of 'sigmoid', 'tanh', 'relu', "
                                               "'linear'; got ['tanh']"),
    (helpers.AutoEncoder(encoder_layers="8"), "AutoEncoder: encoder_layers must be a list of positive integers"),
])
def test_bad_parameters_of_the_other_models(estimator, message, data):
    X, _, classes = data
    with pytest.raises(ValueError) as error:
        estimator.fit(X, classes)
    assert message in str(error.value)


def test_knn_n_jobs_minus_one_means_all_cores(data):
    X, _, classes = data
    every_core = helpers.KNN(3, n_jobs=-1).fit(X, classes).kneighbors(X)
    one_thread = helpers.KNN(3, n_jobs=1).fit(X, classes).kneighbors(X)
    np.testing.assert_array_equal(every_core[1], one_thread[1])


def test_pca_none_keeps_every_component(data):
    X, _, _ = data
    pca = helpers.PCA(None).fit(X)
    assert pca.n_components_ == 3
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-12)


# --- bad arrays -------------------------------------------------------------------------------------------------
BAD_X = [
    (np.array([[1.0, np.nan], [2.0, 3.0]]), "Input X contains NaN: impute or drop the missing values first."),
    (np.array([[1.0, np.inf], [2.0, 3.0]]), "Input X contains infinity or a value too large for dtype('float64')"),
    (np.array([1.0, 2.0]), "X must be 2-dimensional, got shape (2,). Reshape your data: .reshape(-1, 1) for a single "
                           "feature, .reshape(1, -1) for a single sample."),
    (np.empty((0, 2)), "X has 0 sample(s) (shape=(0, 2)) while a minimum of 1 is required."),
    (np.empty((2, 0)), "X has 0 feature(s) (shape=(2, 0)) while a minimum of 1 is required."),
    (np.array([["a", "b"], ["c", "d"]]), "X must be numeric: encode or drop non-numeric columns first"),
    (np.array([[1 + 2j, 1.0], [2.0, 3.0]]), "Complex data not supported in X"),
    (sparse.csr_matrix(np.eye(2)), "X is a sparse matrix, which is not supported: pass a dense array (X.toarray())."),
]


@pytest.mark.parametrize("X, message", BAD_X, ids=["NaN", "inf", "1-D", "no rows", "no columns", "text", "complex",
                                             "sparse"])
@pytest.mark.parametrize("model", [helpers.MLPClassifier([4]), helpers.KNN(1), helpers.PCA(1),
                                   helpers.AutoEncoder([2], 1)], ids=lambda model: type(model).__name__)
def test_bad_X_is_rejected_with_its_own_message(model, X, message):
    with pytest.raises(ValueError) as error:
        model.fit(X, np.array([0, 1, 0])[:X.shape[0]] if X.ndim else None)
    assert message in str(error.value)


BAD_LABELS = [
    (np.array([0.0, 1.0, np.nan, 1.0]), "Input y contains NaN (missing labels): drop those rows or fill in their "
                                        "labels."),
    (np.array(["a", None, "b", "a"], dtype=object), "Input y contains NaN (missing labels)"),
    (np.array([0.5, 1.7, 2.1, 0.2]), "Unknown label type: y is a continuous target (non-integer values); for a "
                                     "numeric target use task='regression' (MLPRegressor)."),
    ([1, "a", 1, "a"], "Mix of label input types (string and number) in y: use one type for all labels."),
    (np.array([1, "a", 1, "a"], dtype=object), "Mix of label input types (string and number)"),
    (np.zeros(4), "classification needs at least two classes, but y has only one class: [0.0]."),
    (None, "MLPClassifier requires y to be passed, but the target y is None."),
]


@pytest.mark.parametrize("y, message", BAD_LABELS, ids=["NaN", "None", "continuous", "mixed list", "mixed object",
                                                        "one class", "no y"])
def test_bad_class_labels_are_named(y, message):
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError) as error:
        helpers.MLPClassifier([4], epochs=1).fit(X, y)
    assert message in str(error.value)


def test_integer_valued_floats_are_labels_and_a_column_vector_warns(data):
    X, _, classes = data
    model = helpers.MLPClassifier([4], epochs=2).fit(X, classes.astype(float))
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0, 2.0])
    from sklearn.exceptions import DataConversionWarning
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = helpers.MLPClassifier([4], epochs=2).fit(X, classes[:, None])
    np.testing.assert_array_equal(column.predict(X), helpers.MLPClassifier([4], epochs=2).fit(X, classes).predict(X))


def test_warm_start_refit_with_other_classes_is_refused(data):
    X, _, classes = data
    model = helpers.MLPClassifier([4], epochs=2, warm_start=True).fit(X, classes)
    with pytest.raises(ValueError, match=r"warm_start: y has classes \[0, 1, 2, 3\] but the model was fitted with "
                                         r"\[0, 1, 2\]; refit with warm_start=False"):
        model.fit(X, np.arange(40) % 4)


def test_assigned_weights_with_wrong_shapes_are_refused(data):
    X, y, _ = data
    model = helpers.MLPRegressor([5], epochs=2).fit(X, y)
    model.weights_[0] = np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"layer 1 needs weights of shape \(3, 5\) and biases of shape \(5,\), got "
                                         r"\(2, 5\) and \(5,\)"):
        model.predict(X)
    warm = helpers.MLPRegressor([5], epochs=2, warm_start=True)
    warm.weights_, warm.biases_ = [np.zeros((3, 5)), np.zeros((5, 1))], [np.zeros(5), np.zeros(2)]
    with pytest.raises(ValueError, match=r"layer 2 needs weights of shape \(5, 1\) and biases of shape \(1,\)"):
        warm.fit(X, y)


def test_unfitted_models_say_so(data):
    X, _, _ = data
    for model, call in [(helpers.MLPClassifier(), "predict"), (helpers.KNN(), "predict"), (helpers.PCA(), "transform"),
                        (helpers.AutoEncoder(), "transform")]:
        with pytest.raises(NotFittedError, match=f"this {type(model).__name__} is not fitted yet"):
            getattr(model, call)(X)


def test_other_bad_calls(data):
    X, y, classes = data
    with pytest.raises(ValueError, match="X and y have different numbers of rows: 40 vs 39"):
        helpers.MLPClassifier([4]).fit(X, classes[:-1])
    with pytest.raises(ValueError, match="patience \\(early stopping\\) watches the validation loss: pass X_val"):
        helpers.MLPClassifier([4], patience=3).fit(X, classes)
    with pytest.raises(ValueError, match="MLPRegressor: loss 'cross_entropy' does not fit a linear output \\(task "
                                         "'regression'\\); use one of 'mse'"):
        helpers.MLPRegressor([4], loss="cross_entropy").fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous values in y; task='multilabel' needs a 0/1 "
                                         "matrix"):
        helpers.MultiLabelMLPClassifier([4]).fit(X, np.random.default_rng(0).normal(size=(40, 3)))
    message = ("Only binary classification is supported per label: y for task='multilabel' must be a 0/1 matrix "
               "\\(one column per label\\); got values \\[0.0, 1.0, 2.0\\]")
    with pytest.raises(ValueError, match=message):
        helpers.MultiLabelMLPClassifier([4]).fit(X, np.c_[classes, classes])
    model = helpers.MLPClassifier([4], epochs=1).fit(X, classes)
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3 features as input."):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="y has labels not seen in fit: \\['yak'\\]"):
        model.score(X, np.array(["yak"] * 40))
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'"):
        helpers.MLPRegressor([4], epochs=1).fit(X, y).predict_proba(X)
    with pytest.raises(ValueError, match="k=41 neighbours asked for, but the training set has only 40 row"):
        helpers.KNN(41).fit(X, classes)
    with pytest.raises(ValueError, match="n_components=4 exceeds min\\(n_samples, n_features\\)=3"):
        helpers.PCA(4).fit(X)
    with pytest.raises(ValueError, match="unknown task 'bogus': evaluate takes one of 'classification', "
                                         "'multilabel', 'regression'."):
        helpers.evaluate("bogus", classes, classes)


@pytest.mark.parametrize("name", ["../escape", "a/b", "/tmp/x", "..", "", ".hidden", None])
def test_sweep_names_cannot_escape_the_sweeps_folder(name):
    with pytest.raises(ValueError, match="must be a plain file name .* it names the cache file in results/sweeps/"):
        helpers.run_sweep(lambda config: {}, {"name": name, "method": "grid", "parameters": {"a": {"value": 1}}})


# --- the review's bugs ------------------------------------------------------------------------------------------
def test_regression_output_count_mismatch_is_refused(data):
    X, y, _ = data
    model = helpers.MLPRegressor([5], epochs=5).fit(X, y)
    with pytest.raises(ValueError, match=r"y has 2 output column\(s\), but the model was fitted with 1."):
        model.score(X, np.c_[y, y])
    with pytest.raises(ValueError, match=r"y_val has 2 output column\(s\), but the model was fitted with 1."):
        helpers.MLPRegressor([5], epochs=5).fit(X, y, X, np.c_[y, y])


def test_multilabel_label_count_mismatch_is_refused(data):
    X, _, _ = data
    labels = (X > 0).astype(int)
    with pytest.raises(ValueError, match=r"y_val has 2 label column\(s\), but the model was fitted with 3."):
        helpers.MultiLabelMLPClassifier([5], epochs=5).fit(X, labels, X, labels[:, :2])
    model = helpers.MultiLabelMLPClassifier([5], epochs=5).fit(X, labels)
    with pytest.raises(ValueError, match=r"y has 4 label column\(s\), but the model was fitted with 3."):
        model.score(X, np.c_[labels, labels[:, :1]])


POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 1.0], [-2.0, 5.0]])


@pytest.mark.parametrize("scale", [1.0, 1e19, 1e40, 1e200, 1e-200])
@pytest.mark.parametrize("metric", helpers.KNN_METRICS)
def test_knn_stays_exact_at_any_magnitude(metric, scale):
    """Each point's nearest neighbour is itself, the second nearest as at scale 1, distances scale with the data."""
    reference = helpers.KNN(2, metric).fit(POINTS, np.arange(4)).kneighbors(POINTS)
    distances, indices = helpers.KNN(2, metric).fit(POINTS * scale, np.arange(4)).kneighbors(POINTS * scale)
    np.testing.assert_array_equal(indices, reference[1])
    np.testing.assert_array_equal(indices[:, 0], np.arange(4))
    expected = reference[0] if metric == "cosine" else reference[0] * scale
    np.testing.assert_allclose(distances, expected, rtol=1e-12, atol=1e-12 if metric == "cosine" else 0)


def test_knn_queries_far_larger_than_the_training_data(data):
    """Queries 1e14 times the training values take the float64 path; its ranking equals a plain float64 brute
    force (no overflow at this size), and a query of 1e300 gives finite distances instead of overflowing."""
    X, _, classes = data
    queries = np.array([[1e14, 0.0, 0.0], [0.0, -1e14, 0.0]])
    distances, indices = helpers.KNN(3, "euclidean").fit(X, classes).kneighbors(queries)
    for query, found in zip(queries, indices):
        brute = np.sqrt(((X - query) ** 2).sum(axis=1))
        np.testing.assert_array_equal(found, np.lexsort((np.arange(len(X)), brute))[:3])
    far = helpers.KNN(3, "euclidean").fit(X, classes).kneighbors([[0.0, -1e300, 0.0]])[0]
    np.testing.assert_allclose(far, 1e300, rtol=1e-12)


def test_divergence_in_the_last_epoch_reverts_to_finite_weights():
    """epochs=1 and a learning rate that explodes within the epoch: the epoch's running loss was measured before
    the last step, so only checking the loss missed it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 1000
    y = X @ np.array([5.0, -3.0, 2.0])
    model = helpers.MLPRegressor([8], optimizer="batch_gd", learning_rate=1e305, epochs=1)
    with pytest.warns(RuntimeWarning, match="diverged at epoch 1"):
        model.fit(X, y)
    assert model.diverged_ and model.n_epochs_ == 0
    assert all(np.isfinite(param).all() for param in model.weights_ + model.biases_)


def test_a_blow_up_hidden_by_a_clipped_loss_is_flagged(data):
    """At lr 1e6 a classifier's weights grew to 7e158 while its clipped cross-entropy stayed finite."""
    X, _, classes = data
    with pytest.warns(RuntimeWarning, match="diverged"):
        model = helpers.MLPClassifier([8], learning_rate=1e6, epochs=50).fit(X, classes)
    assert model.diverged_
    assert max(np.abs(param).max() for param in model.weights_ + model.biases_) < helpers.DIVERGENCE_LIMIT


def test_a_fitted_model_never_holds_non_finite_weights():
    rng = np.random.default_rng(1)
    for learning_rate in (1e2, 1e4, 1e8):
        for epochs in (1, 2, 5):
            X = rng.normal(size=(30, 4)) * 100
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model = helpers.MLPRegressor([6], learning_rate=learning_rate, epochs=epochs).fit(X, X.sum(axis=1))
            assert all(np.isfinite(param).all() for param in model.weights_ + model.biases_)
