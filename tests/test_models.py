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


def brute_force_manhattan(X, queries, k):
    """Plain NumPy reference: float64 distances summed feature by feature left to right, stable argsort (ties to
    the lower index). Returns (distances, indices) of the k nearest."""
    distances = np.zeros((len(queries), len(X)))
    for feature in range(X.shape[1]):
        distances += np.abs(queries[:, feature:feature + 1] - X[:, feature])
    indices = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, indices, axis=1), indices


def adversarial_manhattan_data(case, rng):
    """(X, queries) that stress the integer grid's bound and the exact ranking after it."""
    if case == "lattice ties":            # integer points: many rows at exactly the k-th distance, duplicates
        return rng.integers(0, 3, (2000, 6)).astype(float), rng.integers(0, 3, (150, 6)).astype(float)
    if case == "duplicates":              # every row six times, queries on training rows
        X = rng.permutation(np.repeat(rng.normal(size=(300, 5)), 6, axis=0))
        return X, np.vstack([X[:60], rng.normal(size=(60, 5))])
    if case == "mixed magnitudes":        # the grid is as coarse as the widest feature: the others are invisible
        scales = np.array([1e6, 1.0, 1e-6, 1e-3, 1e3])
        return rng.normal(size=(2000, 5)) * scales, rng.normal(size=(100, 5)) * scales
    if case == "ulp near-ties":           # a wide first feature makes the grid coarse: the others, a few ulps
        def rows(n):                      # apart, fall in one cell, and distances differ in their last bits
            return np.c_[rng.integers(0, 3, n) * 0.5, 1.0 + rng.integers(0, 8, (n, 3)) * 2.0 ** -50]
        return rows(2000), rows(100)
    if case in ("tiny", "huge"):
        scale = 1e-300 if case == "tiny" else 1e300
        return rng.normal(size=(1500, 6)) * scale, rng.normal(size=(100, 6)) * scale
    if case == "far queries":             # beyond the training range (clipped to the grid), far beyond (1e14:
                                          # the float64 path)
        X = rng.normal(size=(1500, 6))
        far = rng.normal(size=(40, 6)) * np.array([[1e3], [1e6], [1e9], [1e11], [1e14]]).repeat(8, axis=0)
        far[::3, 1:] = 0.0                # far along one feature only
        return X, np.vstack([far, rng.normal(size=(20, 6)) * 3])
    if case == "sorted rows":             # training rows sorted by a feature, an order unlike the scan's
        X = rng.normal(size=(3000, 4))
        return X[np.argsort(X[:, 0])], rng.normal(size=(100, 4))
    raise ValueError(case)


MANHATTAN_CASES = ["lattice ties", "duplicates", "mixed magnitudes", "ulp near-ties", "tiny", "huge", "far queries",
                   "sorted rows"]


@pytest.mark.parametrize("case", MANHATTAN_CASES)
@pytest.mark.parametrize("k", [1, 9, 40])
@pytest.mark.parametrize("sample_size, chunk_size", [(50, 700), (50, 7), (10 ** 6, 700)])
def test_knn_manhattan_is_exact_on_adversarial_data(case, k, sample_size, chunk_size, rng):
    """The grid scan proposes candidates, float64 ranks them: the result must equal a plain float64 brute force
    exactly (indices and distances), whatever the ties, magnitudes and distances from the training data. A small
    sample leaves most rows to the projection windows; tiny chunks put chunk edges on window edges; a sample of
    every row gives the tightest bound, where the grid's rounding margin matters most."""
    X, queries = adversarial_manhattan_data(case, rng)
    model = helpers.KNN(k, "manhattan", block_size=16)
    model.SAMPLE_SIZE, model.CHUNK_SIZE = sample_size, chunk_size
    distances, indices = model.fit(X, np.arange(len(X)) % 3).kneighbors(queries)
    expected_distances, expected_indices = brute_force_manhattan(X, queries, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(distances, expected_distances)


@pytest.mark.parametrize("n_features", [1, 4, 15])
@pytest.mark.parametrize("side", [1, -1])
@pytest.mark.parametrize("sample_size, chunk_size", [(8192, 8192), (1, 1)])
def test_knn_grid_bound_holds_when_every_feature_straddles_a_cell_edge(n_features, side, sample_size, chunk_size):
    """The bound's worst case: the query sits just past a cell edge and the true nearest row just past the edge
    `offset` cells away on the other side, in every feature, so its grid distance is d·(offset + 1) =
    ⌊distance/step⌋ + d, the most the bound allows (a bound short of the full d drops it). With a one-row sample the
    bound comes from a slightly farther row on the query's other side, and the nearest row lies exactly on the edge
    of the query's window of projections (for one of the two sides, depending on the projection's signs)."""
    X = np.vstack([np.zeros(n_features), np.ones(n_features), np.full((30, n_features), 0.05),
                   np.zeros((2, n_features))])
    step = helpers.manhattan_grid(X).step
    offset, tiny = 3, step / 1024
    query = np.full((1, n_features), 0.5 + side * tiny)
    X[-2] = 0.5 - side * (offset * step + tiny)         # the true nearest row: distance d·(offset·step + 2·tiny)
    X[-1] = 0.5 + side * (offset * step + 4 * tiny)     # a little farther: d·(offset·step + 3·tiny)
    cells = helpers.grid_cells(helpers.manhattan_grid(X), np.vstack([query, X[-2:-1]]))[0].astype(int)
    distance = n_features * (offset * step + 2 * tiny)
    assert np.abs(cells[0] - cells[1]).sum() == np.floor(distance / step) + n_features
    model = helpers.KNN(1, "manhattan")
    model.SAMPLE_SIZE, model.CHUNK_SIZE = sample_size, chunk_size
    distances, indices = model.fit(X, np.arange(len(X))).kneighbors(query)
    assert indices[0, 0] == len(X) - 2 and distances[0, 0] == brute_force_manhattan(X, query, 1)[0][0, 0]


def test_knn_windows_hold_every_row_the_bound_lets_through(rng):
    """Rows whose grid distance is within a query's bound lie in its window of scan positions, also those exactly at
    the bound along the projection's signs, whose projection is on the window's edge (many, on a lattice)."""
    X = rng.integers(0, 5, (500, 3)).astype(float)
    model = helpers.KNN(3, "manhattan").fit(X, np.zeros(500))
    queries = np.ldexp(X[:50], -model._exponent)                  # scaled, as the scan sees them
    cells = helpers.grid_cells(model._grid, queries)[0]
    distances = helpers.grid_distances(cells, model._scan_points, model._grid.unsigned)    # in scan order
    for bound in np.unique(distances):
        low, high = model._windows(model._projected(queries), np.full(50, bound, model._grid.unsigned))
        positions = np.arange(len(X))
        inside = (positions >= low[:, None]) & (positions < high[:, None])
        assert inside[distances <= bound].all()
        if bound == 0:
            assert not inside.all()                               # the windows do leave rows out


@pytest.mark.parametrize("n_features", [1, 15, 1100])      # 16-bit cells up to 1023 features, 32-bit beyond
def test_knn_grid_distances_are_exact_up_to_the_largest_sum(n_features, rng):
    """Grid L1 distances equal an int64 brute force, including opposite corners of the grid, where a sum of d cell
    differences is largest (it would wrap if the sum's integer type were too narrow)."""
    points = rng.uniform(-1.0, 1.0, (200, n_features))
    points[0], points[1] = -1.0, 1.0 - 1e-12                     # two opposite corners
    grid = helpers.manhattan_grid(points)
    cells, outside = helpers.grid_cells(grid, points)
    assert cells.dtype == (np.int16 if n_features < 1024 else np.int32) and not outside.any()
    found = helpers.grid_distances(cells[:20], np.ascontiguousarray(cells.T), grid.unsigned)
    expected = np.abs(cells[:20, None, :].astype(np.int64) - cells[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(found, expected)
    # Beyond one feature the corner-to-corner sum needs the unsigned type: a signed one would wrap.
    assert n_features == 1 or expected[0, 1] > np.iinfo(grid.signed).max


def test_knn_lexicographic_order_equals_lexsort(rng):
    """The packed-rank sort orders candidates as lexsort would, ties in distance going to the lower column."""
    rows = rng.integers(0, 7, 5000)
    distances = rng.integers(0, 20, 5000) * 0.1           # many equal distances, within and across rows
    columns = rng.permutation(50_000)[:5000] % 900          # a column can recur in other rows
    _, first = np.unique(rows * 900 + columns, return_index=True)   # one candidate per (row, column), as in a scan
    rows, distances, columns = rows[first], distances[first], columns[first]
    np.testing.assert_array_equal(helpers.lexicographic_order(rows, distances, columns, 900),
                                  np.lexsort((columns, distances, rows)))


def rows_float32_cannot_order(metric, rng):
    """(X, query): 3000 rows whose distances to the query differ by about 1e-9 relative, far below the resolution
    of the float32 scanned values: a shell around a query far from the origin (euclidean), a cone around the query's
    direction in 30 dimensions, off the axes so that every component rounds (cosine)."""
    if metric == "euclidean":
        directions = rng.normal(size=(3000, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        return 10.0 + directions * (1.0 + rng.uniform(0, 1e-9, (3000, 1))), np.full((1, 3), 10.0)
    angles = 0.3 * (1.0 + rng.uniform(0, 1e-9, (3000, 1)))
    across = rng.normal(size=(3000, 30))
    across[:, 0] = 0.0
    across /= np.linalg.norm(across, axis=1, keepdims=True)
    rotation = np.linalg.qr(rng.normal(size=(30, 30)))[0]
    return (np.cos(angles) * np.eye(30)[0] + np.sin(angles) * across) @ rotation, rotation[:1]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_float32_margin_keeps_the_rows_float32_cannot_order(metric, rng):
    """The float32 scan cannot order these rows; its rounding margin must keep them all as candidates, so that
    the float64 ranking finds the true k nearest (a plain float64 brute force, stable argsort)."""
    X, query = rows_float32_cannot_order(metric, rng)
    model = helpers.KNN(10, metric)
    model.SAMPLE_SIZE, model.CHUNK_SIZE = 50, 700
    indices = model.fit(X, np.zeros(len(X))).kneighbors(query)[1]
    distances = (np.sqrt(((X - query) ** 2).sum(axis=1)) if metric == "euclidean"
                 else helpers.exact_distances("cosine", np.broadcast_to(query, X.shape), X))
    np.testing.assert_array_equal(indices[0], np.argsort(distances, kind="stable")[:10])


@pytest.mark.parametrize("metric", helpers.KNN_METRICS)
def test_knn_with_k_beyond_the_sample_size(metric, rng):
    """The sample that bounds the k-th distance grows to k rows when k exceeds SAMPLE_SIZE."""
    X, queries = rng.normal(size=(600, 4)), rng.normal(size=(30, 4))
    model = helpers.KNN(50, metric)
    model.SAMPLE_SIZE, model.CHUNK_SIZE = 20, 100
    indices = model.fit(X, np.arange(600) % 2).kneighbors(queries)[1]
    theirs = KNeighborsClassifier(50, algorithm="brute", metric=metric).fit(X, np.arange(600) % 2)
    np.testing.assert_array_equal(indices, theirs.kneighbors(queries)[1])


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
