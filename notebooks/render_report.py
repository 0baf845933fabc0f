"""Generate report.md from notebooks/report_template.md and the results files the notebooks wrote; then the PDF.

Every number in the report comes from results/*.json through a {{ expression }} placeholder; the template's own
text holds no result. Also refreshes the headline table in README.md (between the results markers).

Usage: python notebooks/render_report.py [--pdf]      (QUICK=1: build/quick/ instead of the committed outputs)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = NOTEBOOK_DIR.parent
sys.path.insert(0, str(PROJECT_DIR))
import helpers  # noqa: E402  (QUICK and OUTPUT_DIR: the notebooks' own rule for where results are)
TEMPLATE = NOTEBOOK_DIR / "report_template.md"
PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
RESULT_FILES = {"r1": "01_wine_mlp", "r2": "02_housing_regression", "r3": "03_mse_vs_bce", "r4": "04_autoencoder_knn"}
README_MARKERS = ("<!-- results:start -->", "<!-- results:end -->")


def number(value, digits=3):
    """A result as text: integers as they are, other numbers with `digits` decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float) and value != value:     # NaN: no value for this row (e.g. KNN has no training)
        return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 2):
        return f"{int(value):,}".replace(",", " ")
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"
    return str(value)


def plus_minus(summary, digits=3):
    """'mean ± std' from a {'mean': …, 'std': …} mapping; the std with fixed decimals (a std of 6e-17 is 0.000)."""
    return f"{number(summary['mean'], digits)} ± {summary['std']:.{digits}f}"


def table(records, columns=None, digits=3, headers=None):
    """A markdown table of a list of dicts; `columns` picks and orders keys, `headers` renames them. A column whose
    numbers are all whole is printed as integers (counts, supports); any other numeric column with `digits`
    decimals throughout (seconds with one)."""
    columns = columns or list(records[0])
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    whole = {column: all(float(record[column]).is_integer() for record in records
                         if isinstance(record.get(column), (int, float)) and not isinstance(record.get(column), bool)
                         and record[column] == record[column])
             for column in columns}
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            if isinstance(value, (list, dict)):
                cells.append(json.dumps(value))
            elif isinstance(value, float) and value == value and not whole[column]:
                places = 1 if "seconds" in str(column) else digits
                cells.append(f"{value:.{places}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}")
            elif isinstance(value, float) and value == value:
                cells.append(number(int(value)))
            else:
                cells.append(number(value, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


OPTIMIZER_NAMES = {"sgd": "plain SGD (one row per step)", "mini_batch_gd": "mini-batch GD", "batch_gd": "full-batch GD",
                   "momentum": "momentum", "adam": "Adam"}


def config_text(config):
    """A training configuration as a phrase: 'hidden layers [20, 20], tanh, mini-batch GD, batch 32, ...'."""
    parts = [f"hidden layers {list(config['hidden_layers'])}" if "hidden_layers" in config else None,
             config.get("activation"), OPTIMIZER_NAMES.get(config.get("optimizer"), config.get("optimizer")),
             f"batch {config['batch_size']}" if config.get("optimizer") in ("mini_batch_gd", "momentum", "adam")
             else None,
             f"learning rate {config['learning_rate']}" if "learning_rate" in config else None,
             f"up to {config['epochs']} epochs" if "epochs" in config else None,
             f"early stopping after {config['patience']} epochs without improvement" if config.get("patience")
             else None]
    return ", ".join(str(part) for part in parts if part is not None)


def grid_text(grid):
    """A sweep grid as '4 hidden layer choices ([64], [32, 32], …) × …' → one phrase per parameter."""
    return "; ".join(f"{name.replace('_', ' ')} {', '.join(json.dumps(value) for value in values)}"
                     for name, values in grid.items())


def status_text(status):
    """{'finished': 380, 'diverged': 4} → '380 finished, 4 diverged'."""
    return ", ".join(f"{count} {state}" for state, count in status.items())


def find(records, **conditions):
    """The first record whose fields equal `conditions`."""
    return next(record for record in records if all(record.get(k) == v for k, v in conditions.items()))


def figure(name, caption):
    return f"![{caption}](figures/{name}.png)"


# --- words computed from the numbers: every comparison in the report's prose comes from one of these -------------
ORIGINAL = json.loads((NOTEBOOK_DIR / "original_figures.json").read_text(encoding="utf-8"))


def ratio_words(ours, theirs, noun="as many"):
    """How `ours` compares with `theirs` as a multiple: 'about half as many as', 'about 3 times as many as',
    'about as many as'. `noun` is the comparison ('as many', 'as long', 'as fast')."""
    if theirs == 0 or ours == 0:
        return f"{'as many' if ours == theirs else 'not comparable'} as" if noun == "as many" else f"{noun} as"
    ratio = ours / theirs
    named = [(1 / 4, "a quarter"), (1 / 3, "a third"), (1 / 2, "half"), (2 / 3, "two thirds"), (1.0, ""),
             (1.5, "one and a half times"), (2.0, "twice"), (3.0, "three times"), (4.0, "four times")]
    for value, words in named:
        if abs(ratio / value - 1) <= 0.12:
            return f"about {words + ' ' if words else ''}{noun} as"
    if ratio > 1:
        return f"about {ratio:.0f} times {noun} as" if ratio >= 4.5 else f"{ratio:.1f} times {noun} as"
    return f"about 1/{1 / ratio:.0f} {noun} as" if ratio <= 0.22 else f"{ratio:.2f} times {noun} as"


def above_below(ours, theirs, tolerance=0.0):
    """'above', 'below' or 'level with' (within `tolerance`)."""
    if abs(ours - theirs) <= tolerance:
        return "level with"
    return "above" if ours > theirs else "below"


def higher_lower(ours, theirs, tolerance=0.0):
    if abs(ours - theirs) <= tolerance:
        return "the same as"
    return "higher than" if ours > theirs else "lower than"


def fewer_more(ours, theirs):
    return "as many as" if ours == theirs else "fewer than" if ours < theirs else "more than"


def agrees(holds):
    """'agrees with' / 'contradicts' a claim, from whether our evidence supports it."""
    return "supports" if holds else "contradicts"


def points(difference):
    """An accuracy difference in percentage points, e.g. '4.1 points'."""
    return f"{abs(100 * difference):.1f} points"


def listing(items):
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "none"


# --- sentences: each states one comparison, its words computed from the numbers ----------------------------------
def forest_sentence(summary, metric="accuracy", ours="this MLP", forest="random forest"):
    """Where the MLP stands against the random forest, over seeds."""
    mlp, trees = find(summary, model=ours)["mean"], find(summary, model=forest)["mean"]
    gap = f"{points(trees - mlp)}" if metric == "accuracy" else f"{abs(trees - mlp):.3f}"
    return (f"the random forest's mean test {metric} ({number(trees)}) is {above_below(trees, mlp)} the MLP's "
            f"({number(mlp)}){'' if trees == mlp else f', by {gap}'}")


def cv_choice_sentence(rows, metric):
    """Did cross-validation keep the validation split's winner?"""
    chosen = min(rows, key=lambda row: row["cv_rank"])
    winner = min(rows, key=lambda row: row["validation_rank"])
    if chosen is winner:
        return "cross-validation kept the validation split's winner"
    return (f"cross-validation chose the configuration ranked {chosen['validation_rank']} of {len(rows)} on the "
            f"validation split (mean fold {metric} {number(chosen[f'cv_{metric}_mean'])} ± "
            f"{number(chosen[f'cv_{metric}_std'])}); the validation winner ranks {winner['cv_rank']} by "
            f"cross-validation ({number(winner[f'cv_{metric}_mean'])})")


def best_value(effects, parameter, key="mean"):
    rows = [row for row in effects if row["parameter"] == parameter]
    return max(rows, key=lambda row: row[key])


def value_text(value):
    """A hyperparameter value as text: names plain, lists and numbers as they are."""
    return value if isinstance(value, str) else json.dumps(value)


def effects_sentence(effects, metric):
    """For every hyperparameter, the value with the best mean score over the trainings that used it."""
    parts = []
    for parameter in dict.fromkeys(row["parameter"] for row in effects):
        best = best_value(effects, parameter)
        parts.append(f"{parameter.replace('_', ' ')} {value_text(best['value'])} ({number(best['mean'])})")
    return f"the best mean validation {metric} per hyperparameter: " + listing(parts)


def effect_table(effects):
    return table(effects, ["parameter", "value", "trainings", "mean", "best"])


def housing_claims(effects):
    """The original's section 3.3 claims about the housing sweep, each checked against the mean validation R² of
    the trainings that used each value (a claim about values outside the grid cannot be checked)."""
    claims = ORIGINAL["housing_sweep_claims"]
    mean = {(row["parameter"], json.dumps(row["value"])): row["mean"] for row in effects}
    best_optimizer = best_value(effects, "optimizer")["value"]
    best_rate = best_value(effects, "learning_rate")["value"]
    named = claims["activations_better_than_tanh"]
    activations = [mean.get(("activation", json.dumps(name))) for name in [*named, "tanh"]]
    if None in activations:
        activation_check = f"{listing(named)} above tanh: not all in this grid, cannot be checked"
    else:
        better = sum(value > activations[-1] for value in activations[:-1])
        activation_check = (f"{listing(named)} above tanh: {better} of {len(named)} are — "
                            f"{agrees(better == len(named))} it")
    depth = {}
    for row in effects:
        if row["parameter"] == "hidden_layers":
            depth.setdefault(len(row["value"]), []).append(row["mean"])
    depth_order = sorted(depth, key=lambda layers: -max(depth[layers]))
    claimed_order = " > ".join(map(str, claims["depth_order"]))
    if len(depth_order) == len(claims["depth_order"]):
        depth_check = (f"depth order {claimed_order} layers: ours is {' > '.join(map(str, depth_order))} (best "
                       f"architecture of each depth) — {agrees(depth_order == claims['depth_order'])} it")
    else:
        depth_check = f"depth order {claimed_order} layers: not every depth in this grid, cannot be checked"
    return [
        f"best optimizer {claims['best_optimizer']}: ours is {best_optimizer} — "
        f"{agrees(best_optimizer == claims['best_optimizer'])} it",
        activation_check,
        f"best learning rate {claims['best_learning_rate']}: ours is {best_rate} — "
        f"{agrees(best_rate == claims['best_learning_rate'])} it",
        depth_check]


def convergence_sentence(convergence):
    """BCE against MSE: epochs to reach 99 % of each run's best validation accuracy."""
    bce = convergence["binary_cross_entropy"]["epochs_to_99pct_of_best_val_accuracy"]
    mse = convergence["mse"]["epochs_to_99pct_of_best_val_accuracy"]
    return (f"BCE reached its plateau (99 % of its best validation accuracy) in {bce} epochs, "
            f"{ratio_words(bce, mse)} MSE ({mse})")


def convergence_claim(convergence):
    """The original (3.6) says MSE converges faster; does our run agree?"""
    bce = convergence["binary_cross_entropy"]["epochs_to_99pct_of_best_val_accuracy"]
    mse = convergence["mse"]["epochs_to_99pct_of_best_val_accuracy"]
    claimed = ORIGINAL["mse_vs_bce_claim"]["faster"]
    faster = "mse" if mse < bce else "binary_cross_entropy" if bce < mse else "neither"
    return (f"The original report (section {ORIGINAL['mse_vs_bce_claim']['section']}) says MSE converges faster; "
            f"the evidence of our curves {agrees(faster == claimed)} "
            f"that claim: MSE needed {mse} epochs, {fewer_more(mse, bce)} BCE ({bce})")


def curve_sentence(curve):
    """Autoencoder against PCA over the latent-size curve."""
    below = [row["latent size"] for row in curve if row["autoencoder"] <= row["PCA"]]
    if not below:
        sizes = listing(row["latent size"] for row in curve)
        return f"the autoencoder's test R² is above PCA's at every latent size of the curve ({sizes})"
    above = [row["latent size"] for row in curve if row["latent size"] not in below]
    return (f"the autoencoder's test R² is above PCA's at latent sizes {listing(above)} and not above it at "
            f"{listing(below)}")


def speed_sentence(mlp_rows, mlp="MLP on full 15-d", knn="KNN on full 15-d"):
    """Inference time of the MLP against KNN on the same test tracks."""
    ours, theirs = find(mlp_rows, model=mlp)["inference seconds"], find(mlp_rows, model=knn)["inference seconds"]
    return (f"the MLP predicts all test tracks in {number(ours, 2)} s, {ratio_words(ours, theirs, 'as long')} KNN "
            f"({number(theirs, 1)} s)")


def zeros_sentence(comparison):
    """Hamming accuracy of the MLP against predicting no label at all."""
    mlp, zeros = find(comparison, model="this MLP"), find(comparison, model="all zeros")
    ours, none = mlp["hamming_accuracy"], zeros["hamming_accuracy"]
    return (f"the MLP's Hamming accuracy ({number(ours)}) is {above_below(ours, none)} that of predicting no label at "
            f"all ({number(none)})")


def gradient_sentence(rows):
    largest = max(row["relative_diff"] for row in rows)
    verdict = "backpropagation is right" if largest < 1e-6 else "backpropagation needs checking"
    return f"the largest relative difference is {number(largest)}, so {verdict}"


def zero_recall_classes(rows):
    missed = [row["quality"] for row in rows if row["recall"] == 0]
    return listing(missed) if missed else "no quality"


def original_table(r1, r2, r3, r4):
    """The original's headline figures beside ours, one row each, with why they differ."""
    o = ORIGINAL
    test_run = find(r2["test_run"]["scores"], split="test")
    housing = find(r2["test"]["comparison"], model="this MLP")
    ae = find(r4["reduction"]["table"], method="autoencoder 9-d")
    knn = {row["features"]: row for row in r4["knn"]}
    multilabel = find(r1["multilabel"]["comparison"], model="this MLP")
    best = find(r1["sweep"]["top20"], **{name: r1["sweep"]["best_by_validation"][name] for name in ("optimizer",
                                                                                                     "activation")})
    rows = [
        ("2.2", "wine test run, test accuracy", number(o["wine_test_run"]["test_accuracy"]),
         number(r1["test_run"]["test_accuracy"]), "same configuration; one split of about a hundred wines each"),
        ("2.2", "gradient check, relative difference",
         f"{number(o['gradient_check']['relative_diff_low'])} to {number(o['gradient_check']['relative_diff_high'])}",
         f"up to {number(max(row['relative_diff'] for row in r1['gradient_check']))}",
         "a wrong derivative would show about 1e-2; the size depends on ε and the rows used"),
        ("2.3", "best sweep configuration (validation accuracy)",
         f"{config_text(o['wine_sweep_best'])} ({number(o['wine_sweep_best']['val_accuracy'])})",
         f"{config_text(r1['sweep']['best_by_validation'])} ({number(best['val_accuracy'])})",
         "a hundred validation wines cannot separate the leading configurations; ours is then re-ranked by "
         "cross-validation"),
        ("2.4", "selected wine model, test accuracy", number(o["wine_selected"]["test_accuracy"]),
         f"{number(r1['test']['scores']['accuracy'])} (mean over seeds "
         f"{number(find(r1['over_seeds']['summary'], model='this MLP')['mean'])})",
         "different selected configuration; one split against the mean of several"),
        ("2.6", "multi-label \"accuracy\" (single labels right)", number(o["multilabel"]["test_accuracy"]),
         f"{number(multilabel['hamming_accuracy'])} (predicting no label: "
         f"{number(find(r1['multilabel']['comparison'], model='all zeros')['hamming_accuracy'])})",
         "the measure flatters every model; exact match and F1 are in section 2.6"),
        ("3.2", "housing test run, test MSE / MAE / R²",
         " / ".join(number(o["housing_test_run"][key]) for key in ("test_mse", "test_mae", "test_r2")),
         " / ".join(number(test_run[key]) for key in ("mse (std units)", "mae (std units)", "r2")),
         "standardised target in both; about fifty test tracts, a few capped houses dominate"),
        ("3.4", "selected housing model, test MSE / MAE / R²",
         " / ".join(number(o["housing_selected"][key]) for key in ("test_mse", "test_mae", "test_r2")),
         " / ".join(number(housing[key]) for key in ("mse (std units)", "mae (std units)", "r2")),
         "different selected configuration and split"),
        ("4.2", "autoencoder, train / test MSE",
         f"{number(o['autoencoder']['train_mse'])} / {number(o['autoencoder']['test_mse'])}",
         f"{number(ae['train MSE'])} / {number(ae['test MSE'])}", "same architecture; our code layer is linear"),
        ("4.2", "autoencoder, train / test R²",
         f"{number(o['autoencoder']['train_r2'])} / {number(o['autoencoder']['test_r2'])}",
         f"{number(ae['train R²'])} / {number(ae['test R²'])}", "as above"),
        ("4.3", "KNN accuracy (seconds): full / autoencoder / PCA 7-d",
         f"{number(o['knn']['full_accuracy'])} ({number(o['knn']['full_seconds'], 1)}) / "
         f"{number(o['knn']['autoencoder_accuracy'])} ({number(o['knn']['autoencoder_seconds'], 1)}) / "
         f"{number(o['knn']['pca7_accuracy'])} ({number(o['knn']['pca7_seconds'], 1)})",
         " / ".join(f"{number(knn[name]['accuracy'])} ({number(knn[name]['inference seconds'], 1)})"
                    for name in ("full 15-d", "autoencoder 9-d", "PCA 7-d")),
         "same k and metric; our KNN is vectorised and multi-threaded, hence the seconds"),
        ("4.4", "Spotify MLP, test accuracy", number(o["spotify_mlp"]["accuracy"]),
         number(find(r4["mlp"], model="MLP on full 15-d")["accuracy"]), "different architecture and training budget"),
    ]
    return table([dict(zip(["section", "figure", "original", "this project", "why they differ"], row))
                  for row in rows])


def original_claims(r1, r2, r3, r4):
    """The original's claims checked against our evidence, one bullet each."""
    mlp = find(r4["mlp"], model="MLP on full 15-d")
    knn = find(r4["mlp"], model="KNN on full 15-d")
    return "\n".join([
        f"- {convergence_claim(r3['convergence'])} (section 3.5, its table and figure 3.6).",
        f"- Section 3.3: {'; '.join(housing_claims(r2['sweep']['effects']))} (section 3.3, effect table).",
        f"- Section 2.6: the original's multi-label accuracy of {number(ORIGINAL['multilabel']['test_accuracy'])} "
        f"is the fraction of single labels right; {zeros_sentence(r1['multilabel']['comparison'])}, so that "
        "number says little on its own (section 2.6).",
        f"- Section 4.4: the original calls the MLP's accuracy similar to KNN's and argues it predicts fast once "
        f"trained. Ours is {points(mlp['accuracy'] - knn['accuracy'])} {above_below(mlp['accuracy'], knn['accuracy'])} "
        f"KNN's, and {speed_sentence(r4['mlp'])} (section 4.4, figure 4.3)."])


def split_text(shapes):
    """Split proportions in percent, e.g. '80/10/10 (914/114/115 rows)'."""
    sizes = [shapes[part][0] for part in ("train", "val", "test")]
    return "/".join(f"{100 * size / sum(sizes):.0f}" for size in sizes) + f" ({'/'.join(map(str, sizes))} rows)"


def stopping_sentence(run):
    """How the test run ended: early stopping, or the whole budget with the best epoch's weights kept."""
    if run["epochs_run"] < run["config"]["epochs"]:
        return (f"Early stopping ended training after {run['epochs_run']} epochs and restored the weights of epoch "
                f"{run['best_epoch']}")
    return (f"Training used its whole budget of {run['epochs_run']} epochs; the weights of epoch {run['best_epoch']}, "
            "the best on validation, are kept")


def generalisation_sentence(train, test):
    """Training against test score, and what the gap means."""
    if train > test:
        return (f"Training accuracy {number(train)} is higher than test accuracy {number(test)}: the network fits "
                "the training wines better than it generalises, which is why the weights of the best validation "
                "epoch are kept")
    return (f"Training accuracy {number(train)} is {higher_lower(train, test)} test accuracy {number(test)}: no sign "
            "of over-fitting on this split")


def lowest_loss_value(curves):
    """The value whose curve reached the lowest validation loss ('activation=relu' → 'relu')."""
    label = min(curves, key=lambda label: curves[label]["min_val_loss"])
    return label.split("=", 1)[1]


def earlier_sentence(curves, parameter):
    """Does the minimum validation loss come earlier as `parameter` grows?"""
    ordered = sorted(curves.items(), key=lambda item: float(item[0].split("=", 1)[1]))
    epochs = [values["epoch_of_min_val_loss"] for _, values in ordered]
    earlier = all(later <= sooner for sooner, later in zip(epochs, epochs[1:]))
    return (f"by {parameter.replace('_', ' ')} ({listing(label.split('=', 1)[1] for label, _ in ordered)}) the "
            f"minimum validation loss came at epochs {listing(epochs)}: "
            f"{'never later for a larger value' if earlier else 'not in order of the value'}")


def spread_sentence(summary, models, metric="accuracy"):
    """How far apart the mean test scores of `models` are."""
    means = [summary[model][metric]["mean"] for model in models]
    return f"their mean test {metric} scores lie within {points(max(means) - min(means))} of each other"


def precision_recall_sentence(comparison):
    mlp = find(comparison, model="this MLP")
    precision, recall = mlp["precision_micro"], mlp["recall_micro"]
    return (f"micro-averaged precision ({number(precision)}) is {higher_lower(precision, recall)} recall "
            f"({number(recall)})")


def cap_sentence(hardest, describe):
    """How many of the hardest houses sit at the MEDV cap."""
    cap = find(describe, column="MEDV")["max"]
    at_cap = sum(row["MEDV"] >= cap for row in hardest)
    return f"{at_cap} of the {len(hardest)} are at the MEDV cap of {number(cap, 1)}"


def reduction_sentence(knn, reduction):
    """Accuracy kept by each reduced representation, and whether it follows reconstruction quality."""
    full = find(knn, features="full 15-d")
    reduced = [row for row in knn if row["features"] != "full 15-d"]
    best = max(reduced, key=lambda row: row["accuracy"])
    ae = find(reduction, method="autoencoder 9-d")["test R²"]
    pca = find(reduction, method="PCA 9-d")["test R²"]
    ae_acc = find(knn, features="autoencoder 9-d")["accuracy"]
    pca_acc = find(knn, features="PCA 9-d")["accuracy"]
    follows = (ae > pca) == (ae_acc > pca_acc)
    every = "Every" if all(row["accuracy"] < full["accuracy"] for row in reduced) else "Not every"
    return (f"{every} reduction costs accuracy (full features {number(full['accuracy'])}; best reduction "
            f"{best['features']} {number(best['accuracy'])}); at nine dimensions the autoencoder code's KNN accuracy "
            f"({number(ae_acc)}) is {above_below(ae_acc, pca_acc)} PCA's ({number(pca_acc)}), "
            f"{'in the order of' if follows else 'against the order of'} their reconstruction R²")


def ceiling_sentence(mlp_rows, ceiling):
    best = max(mlp_rows, key=lambda row: row["accuracy"])
    return (f"the best method here ({best['model']}, {number(best['accuracy'])}) is "
            f"{points(ceiling - best['accuracy'])} {above_below(best['accuracy'], ceiling)} the duplicate ceiling "
            f"({number(ceiling)})")


def same_run_sentence(config):
    """Which curves of the one-change figures are the selected configuration itself."""
    shared = f"activation={config['activation']} and learning_rate={config['learning_rate']}"
    if config["optimizer"] == "mini_batch_gd":
        return (f"The curves {shared} and batch_size={config['batch_size']} are one and the same training, the "
                "selected configuration, drawn in each figure")
    return (f"The curves {shared} are one and the same training, the selected configuration, drawn in both figures; "
            f"the batch-size figure switches to mini-batch gradient descent, so none of its curves is that training")


def ensemble_sentence(levers):
    """Did the seed ensemble win the cross-validation, and so get its own test row?"""
    single, ensemble = levers["table"]
    verdict = ("it wins, so it gets its own row on the test split beside the single model" if levers["use_ensemble"]
               else "it does not win, so the single model alone goes to the test split")
    return (f"its mean fold accuracy is {number(ensemble['cv accuracy mean'])} against "
            f"{number(single['cv accuracy mean'])} for one seed: {verdict}")


def ensemble_row(r1):
    """The headline's ensemble figure, when the ensemble was used."""
    rows = [row for row in r1["over_seeds"]["summary"] if row["model"].startswith("this MLP, ensemble")]
    return f"; ensemble of {r1['levers']['members']} seeds {plus_minus(rows[0])}" if rows else ""


def knn_time_sentence(knn, full_dims=15, reduced="PCA 9-d", reduced_dims=9):
    """Do KNN's inference times fall in proportion to the number of dimensions?"""
    full = find(knn, features="full 15-d")["inference seconds"]
    small = find(knn, features=reduced)["inference seconds"]
    time_share, dims_share = small / full, reduced_dims / full_dims
    verdict = "less than" if time_share > dims_share else "at least as much as"
    return (f"{reduced} takes {time_share:.0%} of the full features' inference time with {dims_share:.0%} of their "
            f"dimensions: the time falls {verdict} the dimensions")


def wine_conclusion(summary):
    """The selected MLP against its baselines over seeds, and what a winning forest says about the data."""
    mlp = find(summary, model="this MLP")["mean"]
    sklearn, majority = find(summary, model="scikit-learn MLP")["mean"], find(summary, model="majority class")["mean"]
    forest = find(summary, model="random forest")["mean"]
    why = (". Trees suit this data: a few hundred rows, features whose effect is threshold-like, and an ordinal, "
           "imbalanced label" if forest > mlp else "")
    return (f"the MLP is {above_below(mlp, sklearn)} scikit-learn's MLP trained the same way and "
            f"{above_below(mlp, majority)} the majority class, and {forest_sentence(summary)}{why}")


def linear_sentence(r2_summary):
    """The MLP against linear regression on housing, and the MLP's spread over seeds."""
    mlp, linear = find(r2_summary, model="this MLP"), find(r2_summary, model="linear regression")
    verdict = "earn their keep" if mlp["mean"] > linear["mean"] else "add nothing"
    return (f"linear regression's mean R² ({number(linear['mean'])}) is {above_below(linear['mean'], mlp['mean'])} "
            f"the MLP's, so the non-linear models {verdict} on this data. The MLP's R² varies over seeds with a "
            f"standard deviation of {mlp['std']:.3f}")



def load_results(results_dir):
    return {short: helpers.read_results(name, results_dir) for short, name in RESULT_FILES.items()}


def render(template_text, results):
    """Fill every {{ expression }} of the template; an expression that fails names itself in the error."""
    # One namespace (not globals + locals) so that comprehensions inside an expression see the results too.
    namespace = {"__builtins__": {"len": len, "round": round, "max": max, "min": min, "sorted": sorted, "str": str},
                 **results, "pm": plus_minus, **TEMPLATE_FUNCTIONS}

    def fill(match):
        expression = match.group(1).strip()
        try:
            return str(eval(expression, namespace))
        except Exception as error:
            raise ValueError(f"report template: cannot fill {{{{ {expression} }}}}: {error!r}") from None

    return PLACEHOLDER.sub(fill, template_text)


def headline(results):
    """The README's results table: the part of the report between the headline markers."""
    text = render(TEMPLATE.read_text(encoding="utf-8"), results)
    start, end = text.index("<!-- headline:start -->"), text.index("<!-- headline:end -->")
    return text[start + len("<!-- headline:start -->"):end].strip()


def update_readme(results, readme=PROJECT_DIR / "README.md"):
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_MARKERS[0]) + len(README_MARKERS[0]), text.index(README_MARKERS[1])
    helpers.write_atomic(readme, text[:start] + "\n" + headline(results) + "\n" + text[end:])


BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_PATHS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                 "/Applications/Chromium.app/Contents/MacOS/Chromium")
PDF_HINT = ("install Chrome or Chromium (Debian/Ubuntu as root: apt-get install chromium; macOS: brew install --cask "
            "chromium), then run `make pdf`")


def find_browser():
    """A Chrome/Chromium executable under its usual names (PATH) or macOS application paths, or None."""
    for name in BROWSER_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    return next((path for path in BROWSER_PATHS if Path(path).is_file()), None)


# $…$ formulas; an opening $ followed by a digit is money ($1000s), not mathematics.
INLINE_MATH = re.compile(r"(?<![\w$])\$(?!\d)([^$\n]+?)\$")


def math_to_mathml(markdown):
    """Every $…$ formula as MathML, which browsers render without a network connection."""
    from latex2mathml.converter import convert
    return INLINE_MATH.sub(lambda match: convert(match.group(1)), markdown)


def write_html(markdown_path):
    """report.md → report.html beside it (mistune, installed with nbconvert), styled for reading and printing."""
    import mistune
    body = mistune.create_markdown(plugins=["table"], escape=False)(
        math_to_mathml(markdown_path.read_text(encoding="utf-8")))
    style = ("body{font-family:'DejaVu Sans',sans-serif;font-size:10.5pt;max-width:46em;margin:auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:7.5pt;margin:0.6em 0;max-width:100%}"
             "td,th{border:1px solid #bbb;padding:2px 4px;overflow-wrap:anywhere}"
             "img{max-width:100%;max-height:10cm;display:block;margin:0.4em auto}"
             "h1,h2{page-break-after:avoid}tr,img{page-break-inside:avoid}")
    html = markdown_path.with_suffix(".html")
    helpers.write_atomic(html, f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report</title><style>{style}</style>"
                    f"</head><body>{body}</body></html>")
    return html


def print_pdf(html, pdf_path, browser):
    """Print an HTML file to PDF with headless Chrome/Chromium."""
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    printed = pdf_path.with_name(f".{pdf_path.name}.part")      # renamed into place once complete
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={printed}",
                        html.as_uri()], check=True, capture_output=True, timeout=180)
    os.replace(printed, pdf_path)
    return pdf_path



# The functions a template placeholder may call: every public function of this module.
TEMPLATE_FUNCTIONS = {name: value for name, value in dict(globals()).items()
                      if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == __name__
                      and name not in ("main", "render", "load_results", "update_readme", "headline")}


def main(argv):
    """--find-browser: print the browser's path (exit 1 if none); --pdf: also print the PDF, failing if no browser
    can; --pdf-if-possible: print it when a browser is found, otherwise say how to get it and succeed (report.md and
    the HTML are written either way)."""
    if "--find-browser" in argv:
        browser = find_browser()
        print(browser or f"no Chrome/Chromium found: {PDF_HINT}")
        return 0 if browser else 1
    quick = helpers.QUICK
    results = load_results(helpers.RESULTS_DIR)
    report = helpers.OUTPUT_DIR / "report.md"
    helpers.write_atomic(report, render(TEMPLATE.read_text(encoding="utf-8"), results))
    html = write_html(report)
    print(f"wrote {report} and {html.name}")
    if not quick:
        update_readme(results)
        print("updated the results table in README.md")
    if "--pdf" in argv or "--pdf-if-possible" in argv:
        browser = find_browser()
        if browser is None:
            message = f"no Chrome/Chromium found, so no PDF: {PDF_HINT}."
            if "--pdf" in argv:
                print(f"ERROR: {message}", file=sys.stderr)
                return 1
            print(f"PDF skipped: {message}")
            return 0
        pdf = print_pdf(html, PROJECT_DIR / "build" / ("report-quick.pdf" if quick else "report.pdf"), browser)
        print(f"wrote {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
