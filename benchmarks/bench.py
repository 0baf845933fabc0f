"""Speed of the engine against scikit-learn, measured in one run on this machine (ratios, medians of repeats).

  MLP    WineQT training split (914 rows, standardised), hidden [32, 64], relu, plain SGD, same epochs,
         batch size 1, 32 and the full set.                                       goal: ratio ≤ 0.7
  AE     15-12-9-12-15 autoencoder epoch time vs MLPRegressor on X → X, same architecture and batch size.
                                                                                  goal: ratio ≤ 1.0
  KNN    Spotify: 91 200 training rows × 11 400 queries × 15 standardised features, k = 23,
         vs KNeighborsClassifier(algorithm='brute', n_jobs=-1).                   goal: ratio ≤ 1.0,
         predictions equal except where a distance tie at the k-th neighbour makes the neighbour set ambiguous.
  W&B    wall time of the report's wine sweep (both cores) with W&B runs written offline against W&B disabled,
         each in a fresh process.                                                 goal: ≤ 1.1
  Quality  final training loss and test score, ours vs scikit-learn's MLP with the same architecture, plain
         mini-batch SGD, learning rate, batch size and epochs, over seeds, on three data sets that ship with
         scikit-learn, for each hidden activation.            goal: ours ≥ scikit-learn's within one std

Timing runs alternate ours and scikit-learn's and take the median of the repeats; run it on an idle machine
(check `uptime`). Prints markdown tables and writes them to build/benchmark.md.
Usage: python benchmarks/bench.py [--repeats N] [--only mlp|autoencoder|knn|wandb|quality] [--seeds N]
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


def alternating_medians(ours, theirs, repeats):
    """Median wall time of `ours` and of `theirs` over `repeats` runs taken in turn (ours, theirs, ours, ...), so
    that a change of machine load hits both alike. Returns (our time, their time, our last result, theirs)."""
    times = {ours: [], theirs: []}
    results = {}
    for _ in range(repeats):
        for function in (ours, theirs):
            started = time.perf_counter()
            results[function] = function()
            times[function].append(time.perf_counter() - started)
    return (statistics.median(times[ours]), statistics.median(times[theirs]), results[ours], results[theirs])


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
            our_time, their_time, model, _ = alternating_medians(ours, theirs, repeats)
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
        our_time, their_time, our_pred, their_pred = alternating_medians(
            lambda: ours.predict(X_query), lambda: theirs.predict(X_query), repeats)
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
        our_time, their_time, _, _ = alternating_medians(ours, theirs, repeats)
    return [(f"AutoEncoder 15-12-9-12-15 tanh, Adam, batch {batch_size}, {len(X_train)} rows, per epoch",
             our_time / epochs, their_time / epochs, f"{epochs} epochs per repeat")]


def sweep_seconds():
    """Wall time of the report's wine sweep (384 points), recomputed (journal in a temporary folder)."""
    import tempfile
    from functools import partial
    helpers.RESULTS_DIR = Path(tempfile.mkdtemp())
    config = helpers.report_sweep_config("wine-mlp-grid", "val_accuracy", patience=20)
    started = time.perf_counter()
    helpers.run_sweep(partial(helpers.sweep_trial, split=helpers.wine_split(seed=0)), config,
                      training_key=helpers.mlp_training_key, budget="epochs")
    return time.perf_counter() - started


def bench_wandb(repeats):
    """The wine sweep in a fresh process with W&B offline (runs written to a temporary folder) and disabled,
    alternating."""
    import subprocess
    import tempfile

    def timed(mode):
        def run():
            with tempfile.TemporaryDirectory() as folder:
                env = {**os.environ, "WANDB_MODE": mode, "WANDB_DIR": folder, "WANDB_SILENT": "true"}
                output = subprocess.run([sys.executable, __file__, "--sweep-seconds"], env=env, check=True,
                                        capture_output=True, text=True).stdout
            return float(output.split()[-1])
        return run
    offline, disabled = timed("offline"), timed("disabled")
    times = {offline: [], disabled: []}
    for _ in range(repeats):
        for variant in (offline, disabled):
            times[variant].append(variant())
    return [("wine sweep (384 points, 217 trainings): W&B offline (ours column) vs disabled",
             statistics.median(times[offline]), statistics.median(times[disabled]),
             "sweep wall time measured inside each process")]


QUALITY_TRAINING = dict(hidden=(32, 32), learning_rate=0.01, batch_size=32, epochs=150)


def quality_data_sets():
    """(name, task, X, y) for three data sets that ship with scikit-learn (no download), and Friedman's synthetic
    non-linear regression benchmark (scikit-learn's generator, fixed seed; 1050 training rows as in the issue)."""
    from sklearn import datasets
    diabetes, cancer, digits = datasets.load_diabetes(), datasets.load_breast_cancer(), datasets.load_digits()
    friedman = datasets.make_friedman1(n_samples=1400, noise=1.0, random_state=0)
    return [("Friedman #1 (regression, 1400 × 10)", "regression", *friedman),
            ("diabetes (regression, 442 × 10)", "regression", diabetes.data, diabetes.target),
            ("breast cancer (2 classes, 569 × 30)", "classification", cancer.data, cancer.target),
            ("digits (10 classes, 1797 × 64)", "classification", digits.data, digits.target)]


def final_scores(task, model, X_train, y_train, X_test, y_test):
    """(training loss on the whole training split, test score): ½·MSE and R² for regression, log-loss and accuracy
    for classification, computed the same way for both implementations."""
    from sklearn.metrics import log_loss
    if task == "regression":
        return 0.5 * np.mean((model.predict(X_train) - y_train) ** 2), model.score(X_test, y_test)
    return log_loss(y_train, model.predict_proba(X_train), labels=model.classes_), model.score(X_test, y_test)


def quality_run(task, X, y, activation, seed):
    """One seed: split 75/25 (stratified for classes), standardise on train (the target too, for regression),
    train ours and scikit-learn's with the same settings; returns {implementation: (loss, score)}."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                        stratify=y if task == "classification" else None)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task == "regression":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    settings = QUALITY_TRAINING
    ours = helpers.MLP(list(settings["hidden"]), activation=activation, task=task, optimizer="mini_batch_gd",
                       learning_rate=settings["learning_rate"], batch_size=settings["batch_size"],
                       epochs=settings["epochs"], seed=seed)
    sklearn_model = SklearnMLPRegressor if task == "regression" else SklearnMLP
    theirs = sklearn_model(hidden_layer_sizes=settings["hidden"], activation=helpers.SKLEARN_ACTIVATION[activation],
                           solver="sgd", momentum=0.0, alpha=0.0, learning_rate_init=settings["learning_rate"],
                           batch_size=settings["batch_size"], max_iter=settings["epochs"], tol=0.0,
                           n_iter_no_change=settings["epochs"] + 1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: final_scores(task, model.fit(X_train, y_train), X_train, y_train, X_test, y_test)
                for name, model in (("ours", ours), ("scikit-learn", theirs))}


def bench_quality(n_seeds):
    """Rows of the quality table: mean ± std over seeds of final training loss and test score, and the verdict
    'ours ≥ scikit-learn within one std' on both (lower loss, higher score)."""
    rows = []
    for name, task, X, y in quality_data_sets():
        for activation in ("relu", "tanh", "sigmoid"):
            runs = [quality_run(task, X, y, activation, seed) for seed in range(n_seeds)]
            summary = {}
            for implementation in ("ours", "scikit-learn"):
                values = np.array([run[implementation] for run in runs])
                summary[implementation] = (values.mean(axis=0), values.std(axis=0, ddof=1))
            (our_mean, our_std), (their_mean, their_std) = summary["ours"], summary["scikit-learn"]
            tolerance = np.maximum(our_std, their_std)
            met = our_mean[0] <= their_mean[0] + tolerance[0] and our_mean[1] >= their_mean[1] - tolerance[1]
            rows.append((name, activation, *[f"{m:.4f} ± {s:.4f}" for m, s in
                                             zip([our_mean[0], their_mean[0], our_mean[1], their_mean[1]],
                                                 [our_std[0], their_std[0], our_std[1], their_std[1]])],
                         "yes" if met else "**no**"))
            print(" | ".join(map(str, rows[-1])), flush=True)
    score = "R² (regression) / accuracy"
    settings = QUALITY_TRAINING
    return [f"Quality: [{', '.join(map(str, settings['hidden']))}] hidden units, plain mini-batch SGD, learning rate "
            f"{settings['learning_rate']}, batch {settings['batch_size']}, {settings['epochs']} epochs, no momentum, "
            f"no L2, no early stopping; 75/25 split per seed; mean ± std over {n_seeds} seeds. Training loss: ½·MSE "
            "(regression, standardised target) or log-loss on the whole training split.", "",
            f"| data set | activation | train loss, ours | train loss, scikit-learn | test {score}, ours | "
            f"test {score}, scikit-learn | ours ≥ scikit-learn within one std |",
            "|---|---|---:|---:|---:|---:|---|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["mlp", "knn", "autoencoder", "wandb", "quality"])
    parser.add_argument("--sweep-seconds", action="store_true", help=argparse.SUPPRESS)   # bench_wandb's worker
    parser.add_argument("--seeds", type=int, default=5, help="seeds per quality row (default 5)")
    args = parser.parse_args()
    if args.sweep_seconds:
        print(f"{sweep_seconds():.3f}")
        return
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    slow_repeats = max(3, args.repeats // 2)          # AE and KNN take seconds a run; never fewer than 3
    lines = [f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; numpy {np.__version__}, "
             f"scikit-learn {sklearn.__version__}; load average (1, 5, 15 min) at the start: {load}."]
    rows = []
    if args.only in (None, "mlp"):
        rows += bench_mlp(args.repeats)
    if args.only in (None, "autoencoder"):
        rows += bench_autoencoder(slow_repeats)
    if args.only in (None, "knn"):
        rows += bench_knn(slow_repeats)
    if args.only in (None, "wandb"):
        rows += bench_wandb(3)
    if rows:
        lines += ["", f"Speed: median of {args.repeats} repeats (AE and KNN: {slow_repeats}), ours and scikit-learn's "
                      "alternating.", "",
                  "| case | ours (s) | scikit-learn (s) | ratio | notes |", "|---|---:|---:|---:|---|"]
        lines += [f"| {case} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | {notes} |"
                  for case, ours, theirs, notes in rows]
    if args.only in (None, "quality"):
        lines += ["", *bench_quality(args.seeds)]
    table = "\n".join(lines)
    print(table)
    out = helpers.PROJECT_DIR / "build" / "benchmark.md"
    helpers.write_atomic(out, table + "\n")


if __name__ == "__main__":
    main()
