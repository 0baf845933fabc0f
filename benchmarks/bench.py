"""Speed of the engine against scikit-learn, measured in one run on this machine (ratios, medians of repeats).

  MLP    WineQT training split (914 rows, standardised), hidden [32, 64], relu, plain SGD, same epochs,
         batch size 1, 32 and the full set.                                       goal: ratio ≤ 0.7
  AE     15-12-9-12-15 autoencoder epoch time vs MLPRegressor on X → X, same architecture and batch size.
                                                                                  goal: ratio ≤ 1.0
  KNN    Spotify: 91 200 training rows × 11 400 queries × 15 standardised features, k = 23,
         vs KNeighborsClassifier(algorithm='brute', n_jobs=-1).                   goal: ratio ≤ 1.0,
         predictions equal except where a distance tie at the k-th neighbour makes the neighbour set ambiguous.

Prints a markdown table and writes it to build/benchmark.md. Usage: python benchmarks/bench.py [--repeats N]
"""
import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench_mlp(repeats):
    wine = helpers.wine_split(seed=0)      # the notebooks' split: 914 standardised training rows
    X, y = wine.X_train, wine.y_train
    rows = []
    for label, optimizer, batch_size, epochs in [("1 (sgd)", "sgd", 1, 20), ("32", "mini_batch_gd", 32, 100),
                                                 (f"{len(X)} (full)", "batch_gd", len(X), 500)]:
        ours = lambda: helpers.MLPClassifier([32, 64], activation="relu", optimizer=optimizer, batch_size=batch_size,
                                             learning_rate=0.01, epochs=epochs, seed=0).fit(X, y)
        # Same work for scikit-learn: plain SGD, no momentum or penalty, every epoch run (no tolerance stop).
        theirs = lambda: SklearnMLP(hidden_layer_sizes=(32, 64), activation="relu", solver="sgd", momentum=0.0,
                                    alpha=0.0,
                                    learning_rate_init=0.01, batch_size=batch_size, max_iter=epochs, tol=0.0,
                                    n_iter_no_change=epochs + 1, random_state=0).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            our_time, model = median_time(ours, repeats)
            their_time, _ = median_time(theirs, repeats)
        rows.append((f"MLP [32, 64] relu, batch {label}, {epochs} epochs", our_time, their_time,
                     f"train acc {model.score(X, y):.3f}"))
    return rows


def tie_at_kth(metric, query, train, k):
    """True when the k-th and (k+1)-th smallest distances from query are equal (to rounding)."""
    distances = np.sort(helpers.exact_distances(metric, np.broadcast_to(query, train.shape), train))
    return bool(np.isclose(distances[k - 1], distances[k], rtol=1e-12, atol=1e-12))


def bench_knn(repeats, k=23):
    spotify = helpers.spotify_split(seed=0)
    X_train, y_train, X_query = spotify.X_train, spotify.y_train, spotify.X_test
    rows = []
    for metric in ("manhattan", "euclidean"):
        ours = helpers.KNN(k, metric).fit(X_train, y_train)
        theirs = KNeighborsClassifier(k, algorithm="brute", metric=metric, n_jobs=-1).fit(X_train, y_train)
        our_time, our_pred = median_time(lambda: ours.predict(X_query), repeats)
        their_time, their_pred = median_time(lambda: theirs.predict(X_query), repeats)
        disagree = np.flatnonzero(our_pred != their_pred)
        explained = sum(tie_at_kth(metric, X_query[i], X_train, k) for i in disagree)
        rows.append((f"KNN k={k} {metric}, {len(X_train)} × {len(X_query)}", our_time, their_time,
                     f"agree {1 - len(disagree) / len(X_query):.4f}; {len(disagree)} differ, "
                     f"{explained} of them at a k-th-neighbour tie"))
    return rows


def bench_autoencoder(repeats, epochs=3, batch_size=64):
    """Epoch time of the 15-12-9-12-15 autoencoder (tanh, Adam) against scikit-learn's MLPRegressor trained on
    X → X with the same architecture, activation, solver and batch size."""
    X_train = helpers.spotify_split(seed=0).X_train
    ours = lambda: helpers.AutoEncoder([12], 9, activation="tanh", optimizer="adam", learning_rate=0.003,
                                       batch_size=batch_size, epochs=epochs, seed=0).fit(X_train)
    theirs = lambda: SklearnMLPRegressor(hidden_layer_sizes=(12, 9, 12), activation="tanh", solver="adam",
                                         learning_rate_init=0.003, batch_size=batch_size, max_iter=epochs,
                                         tol=0.0, n_iter_no_change=epochs + 1, alpha=0.0,
                                         random_state=0).fit(X_train, X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        our_time, _ = median_time(ours, repeats)
        their_time, _ = median_time(theirs, repeats)
    return [(f"AutoEncoder 15-12-9-12-15 tanh, Adam, batch {batch_size}, {len(X_train)} rows, per epoch",
             our_time / epochs, their_time / epochs, f"{epochs} epochs per repeat")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["mlp", "knn", "autoencoder"])
    args = parser.parse_args()
    rows = []
    if args.only in (None, "mlp"):
        rows += bench_mlp(args.repeats)
    if args.only in (None, "autoencoder"):
        rows += bench_autoencoder(max(1, args.repeats // 2))
    if args.only in (None, "knn"):
        rows += bench_knn(max(1, args.repeats // 2))
    lines = [f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; numpy {np.__version__}, "
             f"scikit-learn {sklearn.__version__}; median of repeats.", "",
             "| case | ours (s) | scikit-learn (s) | ratio | notes |", "|---|---:|---:|---:|---|"]
    lines += [f"| {case} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | {notes} |"
              for case, ours, theirs, notes in rows]
    table = "\n".join(lines)
    print(table)
    out = helpers.PROJECT_DIR / "build" / "benchmark.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(table + "\n")


if __name__ == "__main__":
    main()
