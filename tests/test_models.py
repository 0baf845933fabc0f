"""KNN, PCA and AutoEncoder against scikit-learn and on bad input."""
import numpy as np
import pytest
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.neighbors import KNeighborsClassifier

import helpers


@pytest.mark.parametrize("metric", helpers.KNN_METRICS)
@pytest.mark.parametrize("k", [1, 5, 12])
def test_knn_matches_sklearn_brute_force(metric, k, rng):
    X = rng.normal(size=(3000, 6))
    y = rng.integers(0, 4, size=3000)
    queries = rng.normal(size=(400, 6))
    ours = helpers.KNN(k, metric, block_size=16).fit(X, y)
    ours.SAMPLE_SIZE, ours.CHUNK_SIZE = 500, 700    # several scan chunks, a real sample: exercise the bounds
    ours.fit(X, y)
    theirs = KNeighborsClassifier(k, algorithm="brute", metric=metric).fit(X, y)
    distances, indices = ours.kneighbors(queries)
    their_distances, their_indices = theirs.kneighbors(queries)
    np.testing.assert_array_equal(indices, their_indices)
    np.testing.assert_allclose(distances, their_distances, rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    np.testing.assert_allclose(ours.predict_proba(queries), theirs.predict_proba(queries))


def test_knn_ties_go_to_the_lower_index_and_votes_to_the_first_class():
    X = np.array([[0.0], [1.0], [1.0], [-1.0], [5.0]])
    y = np.array(["b", "a", "b", "a", "c"])
    model = helpers.KNN(3, "manhattan").fit(X, y)
    distances, indices = model.kneighbors([[0.0]])
    np.testing.assert_array_equal(indices, [[0, 1, 2]])       # 1, 2 and 3 tie at distance 1: lower indices win
    np.testing.assert_array_equal(distances, [[0.0, 1.0, 1.0]])
    assert helpers.KNN(2, "manhattan").fit(X, y).predict([[0.0]])[0] == "a"   # one vote each: first class


@pytest.mark.parametrize("n_components", [1, 3, 5])
def test_pca_matches_sklearn(n_components, rng):
    X = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5)) + 3.0
    ours = helpers.PCA(n_components).fit(X)
    theirs = SklearnPCA(n_components, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X)),
                               theirs.inverse_transform(theirs.transform(X)), atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(ours.transform(X)), np.abs(theirs.transform(X)), atol=1e-8)


def test_autoencoder_architecture_latent_and_reconstruction(rng):
    latent = rng.normal(size=(600, 3))
    X = np.tanh(latent @ rng.normal(size=(3, 8)))               # 8 features on a 3-d manifold
    model = helpers.AutoEncoder([6], latent_dim=3, activation="tanh", latent_activation="linear",
                                optimizer="adam", learning_rate=0.01, epochs=200, seed=0)
    model.fit(X[:500], X_val=X[500:])
    assert [w.shape for w in model.weights_] == [(8, 6), (6, 3), (3, 6), (6, 8)]
    assert model.hidden_activations_ == ["tanh", "linear", "tanh"]
    assert model.transform(X).shape == (600, 3)
    reconstruction = model.reconstruct(X[500:])
    assert reconstruction.shape == (100, 8)
    assert model.score(X[500:], X[500:]) > 0.95
    assert model.history_["val_loss"][-1] < model.history_["val_loss"][0]
    # the latent code is what the encoder half computes
    code = X[500:]
    for layer in range(2):
        code = model._layer(layer, code)
    np.testing.assert_array_equal(code, model.transform(X[500:]))
