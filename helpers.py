"""The engine of the report: data, maths, models and experiment running, all from scratch in NumPy.

Read top-down:
  1. paths and run mode        QUICK switch shared by every notebook
  2. data                      loaders for the five CSVs and their train/validation/test splits
  3. input checks              one place that turns bad input into a clear ValueError
  4. activations and losses    tiny functions in registries keyed by name
  5. optimizers                update rules: gradient descent, momentum, Adam
  6. MLP                       one class for classification, multi-label and regression
  7. AutoEncoder               an MLP trained to reproduce its input
  8. PCA                       the linear baseline for the autoencoder
  9. KNN                       blocked, multi-threaded nearest neighbours
 10. experiment running        W&B grid sweeps in parallel, cached; one sweep trial
 11. report outputs            metrics, figures and the results files report.md is generated from
scikit-learn is used for preprocessing, metrics and baselines only, never inside a model.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------------------------------------------
# 1. Paths and run mode
# ----------------------------------------------------------------------------------------------------------------
PROJECT_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DATA_DIR", PROJECT_DIR / "data"))


def _flag(name):
    return os.environ.get(name, "0").strip().lower() not in ("", "0", "false", "no")


# QUICK=1 shrinks grids, epochs and data so the test suite can execute every notebook in minutes.
QUICK = _flag("QUICK")
# FORCE_SWEEPS=1 recomputes sweeps even when results/sweeps/ holds a cached table for the same configuration.
FORCE_SWEEPS = _flag("FORCE_SWEEPS")

# Figures and results of the full run are committed; a quick run writes beside them in build/quick so that it
# never overwrites the report's numbers. OUTPUT_DIR overrides both (the tests use a temporary folder).
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR") or (PROJECT_DIR / "build" / "quick" if QUICK else PROJECT_DIR))
FIGURES_DIR = OUTPUT_DIR / "figures"
RESULTS_DIR = OUTPUT_DIR / "results"

# ----------------------------------------------------------------------------------------------------------------
# 2. Data
# ----------------------------------------------------------------------------------------------------------------
SPOTIFY_FEATURES = ["popularity", "duration_ms", "explicit", "danceability", "energy", "key", "loudness", "mode",
                    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                    "time_signature"]


def _read_data_file(file_name, **read_options):
    path = DATA_DIR / file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make data` to fetch and verify the data sets "
                                "(see data/README.md).")
    return pd.read_csv(path, **read_options)


def load_wine():
    """WineQT: 1143 red wines, 11 physico-chemical features, `quality` 3-8, `Id`."""
    return _read_data_file("WineQT.csv")


def load_housing():
    """Boston housing (Kaggle variant with NaNs), target `MEDV` in $1000s."""
    return _read_data_file("HousingData.csv")


def load_diabetes():
    """Pima Indians diabetes, target `Outcome` 0/1; zeros in some columns mean missing."""
    return _read_data_file("diabetes.csv")


def load_advertisement():
    """Synthetic customers; `labels` holds space-separated ad categories (multi-label)."""
    return _read_data_file("advertisement.csv")


def load_spotify():
    """114 000 Spotify tracks, 15 audio features (see SPOTIFY_FEATURES), label `track_genre`."""
    return _read_data_file("spotify.csv", index_col=0)


def train_val_test_split(*arrays, fractions=(0.8, 0.1, 0.1), seed=0, stratify=None):
    """Split every array the same way into train/validation/test parts; returns [(train, val, test), ...].

    Train and validation get round(n·fraction) rows, test the remainder (WineQT 1143 → 914/114/115,
    Spotify 114 000 → 91 200/11 400/11 400). `stratify` keeps class proportions in every part.
    """
    from sklearn.model_selection import train_test_split
    n_rows = len(arrays[0])
    n_val = int(round(n_rows * fractions[1]))
    n_test = n_rows - int(round(n_rows * fractions[0])) - n_val
    first = train_test_split(*arrays, np.arange(n_rows), test_size=n_test, random_state=seed, stratify=stratify)
    rest, test = first[0::2], first[1::2]
    rest_stratify = None if stratify is None else np.asarray(stratify)[rest[-1]]
    second = train_test_split(*rest[:-1], test_size=n_val, random_state=seed, stratify=rest_stratify)
    return [(second[2 * i], second[2 * i + 1], test[i]) for i in range(len(arrays))]


class Split:
    """Train/validation/test arrays of one data set, standardised with statistics of the training part only."""

    def __init__(self, X_train, X_val, X_test, y_train, y_val, y_test, feature_names, scaler=None):
        self.X_train, self.X_val, self.X_test = X_train, X_val, X_test
        self.y_train, self.y_val, self.y_test = y_train, y_val, y_test
        self.feature_names, self.scaler = list(feature_names), scaler

    @property
    def fit_args(self):
        """(X_train, y_train, X_val, y_val): the arguments of MLP.fit with validation."""
        return self.X_train, self.y_train, self.X_val, self.y_val

    @property
    def shapes(self):
        return {part: getattr(self, f"X_{part}").shape for part in ("train", "val", "test")}


def standardised_split(features, target, seed=0, stratify=False, ids=None):
    """80/10/10 split of a feature DataFrame and target; features standardised on the training part. Row `ids`,
    if given, are split the same way into `split.ids` ({'train': ..., 'val': ..., 'test': ...})."""
    from sklearn.preprocessing import StandardScaler
    target = np.asarray(target)
    extra = [] if ids is None else [np.asarray(ids)]
    (X_train, X_val, X_test), (y_train, y_val, y_test), *id_parts = train_val_test_split(
        features.to_numpy(dtype=np.float64), target, *extra, seed=seed, stratify=target if stratify else None)
    scaler = StandardScaler().fit(X_train)
    split = Split(scaler.transform(X_train), scaler.transform(X_val), scaler.transform(X_test),
                  y_train, y_val, y_test, features.columns, scaler)
    if id_parts:
        split.ids = dict(zip(("train", "val", "test"), id_parts[0]))
    return split


def wine_split(seed=0):
    """WineQT without `Id`: 11 standardised features, `quality` labels; stratified because qualities 3 and 8
    are rare (≈1 % of rows) and an unstratified 10 % part could miss them."""
    wine = load_wine()
    return standardised_split(wine.drop(columns=["Id", "quality"]), wine["quality"], seed, stratify=True)


def _impute_and_standardise(features, target, seed, stratify, binary_columns=()):
    """Split 80/10/10, impute missing values with training-split statistics (median; most frequent value for
    binary columns, so they stay 0/1), then standardise on the training split."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    target = np.asarray(target)
    (X_train, X_val, X_test), (y_train, y_val, y_test) = train_val_test_split(
        features, target, seed=seed, stratify=target if stratify else None)
    continuous = [column for column in features.columns if column not in binary_columns]
    transformer = ColumnTransformer([
        ("continuous", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), continuous),
        ("binary", make_pipeline(SimpleImputer(strategy="most_frequent"), StandardScaler()), list(binary_columns)),
    ]).fit(X_train)
    split = Split(*(transformer.transform(part) for part in (X_train, X_val, X_test)), y_train, y_val, y_test,
                  continuous + list(binary_columns), transformer)
    split.raw = {"train": X_train, "val": X_val, "test": X_test}   # untransformed rows, for analysis in units
    return split


def housing_split(seed=0):
    """HousingData: impute (median; CHAS by its mode) and standardise on train; the target MEDV ($1000s) is
    standardised too (`target_mean`, `target_std` convert back) so that one learning rate suits every grid point."""
    housing = load_housing()
    split = _impute_and_standardise(housing.drop(columns=["MEDV"]), housing["MEDV"], seed, stratify=False,
                                    binary_columns=("CHAS",))
    split.target_mean, split.target_std = split.y_train.mean(), split.y_train.std()
    split.medv_train, split.medv_val, split.medv_test = split.y_train, split.y_val, split.y_test
    split.y_train, split.y_val, split.y_test = ((part - split.target_mean) / split.target_std
                                                for part in (split.y_train, split.y_val, split.y_test))
    return split


DIABETES_ZERO_MEANS_MISSING = ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"]


def diabetes_split(seed=0):
    """Pima diabetes: zeros in Glucose, BloodPressure, SkinThickness, Insulin, BMI are missing measurements →
    NaN → training-split median; standardised on train; stratified by Outcome."""
    diabetes = load_diabetes()
    features = diabetes.drop(columns=["Outcome"])
    features[DIABETES_ZERO_MEANS_MISSING] = features[DIABETES_ZERO_MEANS_MISSING].replace(0, np.nan)
    return _impute_and_standardise(features, diabetes["Outcome"], seed, stratify=True)


def spotify_split(seed=0, n_rows=None):
    """Spotify: the 15 SPOTIFY_FEATURES (explicit → 0/1) standardised on train, label `track_genre`; 80/10/10
    (91 200 / 11 400 / 11 400 rows). `n_rows` takes a random subsample first (quick mode). `track_id` per part is
    kept in `split.ids` to study duplicates."""
    spotify = load_spotify()
    if n_rows is not None:
        spotify = spotify.sample(n=n_rows, random_state=seed)
    features = spotify[SPOTIFY_FEATURES].astype({"explicit": int})
    return standardised_split(features, spotify["track_genre"], seed, ids=spotify["track_id"])


ADVERTISEMENT_NUMERIC = ["age", "income", "children", "purchase_amount"]
ADVERTISEMENT_CATEGORICAL = ["gender", "education", "married", "occupation", "most bought item"]


def advertisement_split(seed=0):
    """advertisement.csv as a multi-label problem: numeric columns standardised on train, categorical columns
    one-hot encoded (categories learnt on train), `city` dropped (969 distinct values in 1000 rows: an identifier,
    not a feature that generalises), `labels` → a 0/1 matrix over the 8 categories (`label_names`)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MultiLabelBinarizer, OneHotEncoder, StandardScaler
    ads = load_advertisement()
    binarizer = MultiLabelBinarizer()
    labels = binarizer.fit_transform(ads["labels"].str.split())
    features = ads[ADVERTISEMENT_NUMERIC + ADVERTISEMENT_CATEGORICAL].astype({"married": str})
    (X_train, X_val, X_test), (Y_train, Y_val, Y_test) = train_val_test_split(features, labels, seed=seed)
    encoder = ColumnTransformer([("numeric", StandardScaler(), ADVERTISEMENT_NUMERIC),
                                 ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                  ADVERTISEMENT_CATEGORICAL)]).fit(X_train)
    split = Split(*(encoder.transform(part) for part in (X_train, X_val, X_test)), Y_train, Y_val, Y_test,
                  encoder.get_feature_names_out(), encoder)
    split.label_names = list(binarizer.classes_)
    return split


# ----------------------------------------------------------------------------------------------------------------
# 3. Input checks
# ----------------------------------------------------------------------------------------------------------------
def check_array(values, name="X", ndim=2):
    """Return `values` as a finite float64 array of the given ndim, or raise a ValueError that says what is wrong."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric: encode or drop non-numeric columns first ({error}).") from None
    if array.ndim != ndim:
        hint = " (reshape a single feature with .reshape(-1, 1))" if ndim == 2 and array.ndim == 1 else ""
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {array.shape}{hint}.")
    if array.shape[0] == 0 or array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}).")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values: impute or drop them before fitting.")
    return array


def check_same_length(first, second, names=("X", "y")):
    if len(first) != len(second):
        raise ValueError(f"{names[0]} and {names[1]} have different numbers of rows: {len(first)} vs {len(second)}.")


def check_choice(value, valid, what):
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid {what}s: {', '.join(sorted(valid))}.")


# ----------------------------------------------------------------------------------------------------------------
# 4. Activations, outputs and losses
#    Hidden-layer derivatives are written in terms of the activation a = g(z), so the forward pass need not keep z;
#    each `*_backward(a, delta)` multiplies delta in place by g'(z).
# ----------------------------------------------------------------------------------------------------------------
def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), evaluated through e^(−|z|) so it never overflows."""
    decay = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, decay) / (1.0 + decay)


def tanh(z):
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))."""
    return np.tanh(z)


def relu(z):
    """relu(z) = max(0, z)."""
    return np.maximum(z, 0.0)


def linear(z):
    """identity(z) = z."""
    return z


def softmax(z):
    """softmax(z)_k = e^(z_k − max z) / Σ_j e^(z_j − max z); the shift keeps e^(·) ≤ 1."""
    exps = np.exp(z - z.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def sigmoid_backward(a, delta):
    """δ ← δ · σ'(z),  σ'(z) = a (1 − a)."""
    delta *= a * (1.0 - a)


def tanh_backward(a, delta):
    """δ ← δ · tanh'(z),  tanh'(z) = 1 − a²."""
    delta *= 1.0 - a * a


def relu_backward(a, delta):
    """δ ← δ · relu'(z),  relu'(z) = 1[a > 0] = sign(a) since a ≥ 0."""
    delta *= np.sign(a)   # float-by-float multiply: faster than casting a boolean mask


def linear_backward(a, delta):
    """δ ← δ · 1."""


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "linear": linear}
ACTIVATION_BACKWARD = {"sigmoid": sigmoid_backward, "tanh": tanh_backward, "relu": relu_backward,
                       "linear": linear_backward}
OUTPUT_ACTIVATIONS = {"softmax": softmax, "sigmoid": sigmoid, "identity": linear}

# Probabilities are clipped away from 0 and 1 before a log, so log(0) is never taken.
PROBABILITY_FLOOR = np.finfo(np.float64).eps


def cross_entropy(targets, probabilities):
    """L = −(1/n) Σ_i Σ_k y_ik log p_ik   (targets one-hot, p from softmax)."""
    return -np.sum(targets * np.log(np.clip(probabilities, PROBABILITY_FLOOR, 1.0))) / len(probabilities)


def binary_cross_entropy(targets, probabilities):
    """L = −(1/n) Σ_i Σ_k [y_ik log p_ik + (1 − y_ik) log(1 − p_ik)]   (one sigmoid per label)."""
    clipped = np.clip(probabilities, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return -np.sum(targets * np.log(clipped) + (1.0 - targets) * np.log1p(-clipped)) / len(probabilities)


def mse(targets, predictions):
    """L = (1/2n) Σ_i ‖p_i − y_i‖²: half the squared error, as scikit-learn, so that ∂L/∂p = (p − y)/n."""
    return np.sum((predictions - targets) ** 2) / (2.0 * len(predictions))


LOSSES = {"cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy, "mse": mse}

# Losses each output activation can be trained with. The first is the task's natural loss.
LOSSES_FOR_OUTPUT = {"softmax": ("cross_entropy", "mse"),
                     "sigmoid": ("binary_cross_entropy", "mse"),
                     "identity": ("mse",)}

# For these pairs ∂L/∂z simplifies to (p − y)/n; the others chain ∂L/∂p through the output's Jacobian.
MATCHED_PAIRS = {("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "mse")}


def sigmoid_output_backward(outputs, grad):
    """∂L/∂z = ∂L/∂p · p (1 − p)."""
    return grad * outputs * (1.0 - outputs)


def softmax_output_backward(outputs, grad):
    """∂L/∂z_k = p_k (∂L/∂p_k − Σ_j p_j ∂L/∂p_j)   (softmax Jacobian applied to the gradient)."""
    return outputs * (grad - np.sum(grad * outputs, axis=1, keepdims=True))


OUTPUT_BACKWARD = {"sigmoid": sigmoid_output_backward, "softmax": softmax_output_backward,
                   "identity": lambda outputs, grad: grad}


def output_delta(output, loss, targets, outputs):
    """δ_L = ∂L/∂z at the output layer, for the mean loss over the n rows of the batch."""
    residual = (outputs - targets) / len(outputs)
    if (output, loss) in MATCHED_PAIRS:
        return residual
    # Only mse is ever unmatched (see LOSSES_FOR_OUTPUT), and (p − y)/n is its ∂L/∂p.
    return OUTPUT_BACKWARD[output](outputs, residual)


# ----------------------------------------------------------------------------------------------------------------
# 5. Optimizers. The MLP keeps all its parameters in one flat vector (weights and biases are views into it), so
#    `step(params, grads)` updates everything with a handful of vectorised operations, whatever the depth.
# ----------------------------------------------------------------------------------------------------------------
class GradientDescent:
    """θ ← θ − η g."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def step(self, params, grads):
        params -= self.learning_rate * grads


class Momentum:
    """v ← μ v − η g;  θ ← θ + v   (heavy-ball momentum, μ = 0.9 by default)."""

    def __init__(self, learning_rate, momentum=0.9):
        self.learning_rate, self.momentum = learning_rate, momentum
        self.velocity = None

    def step(self, params, grads):
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        self.velocity *= self.momentum
        self.velocity -= self.learning_rate * grads
        params += self.velocity


class Adam:
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η m̂ / (√v̂ + ε)   (Kingma & Ba, 2015)."""

    def __init__(self, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self.mean, self.square, self.steps = None, None, 0

    def step(self, params, grads):
        if self.mean is None:
            self.mean, self.square = np.zeros_like(params), np.zeros_like(params)
        self.steps += 1
        self.mean *= self.beta1
        self.mean += (1.0 - self.beta1) * grads
        self.square *= self.beta2
        self.square += (1.0 - self.beta2) * grads * grads
        mean_hat = self.mean / (1.0 - self.beta1 ** self.steps)
        square_hat = self.square / (1.0 - self.beta2 ** self.steps)
        params -= self.learning_rate * mean_hat / (np.sqrt(square_hat) + self.epsilon)


# name -> (update rule, rows per step as a function of the configured batch size and the training-set size)
OPTIMIZERS = {
    "sgd": (GradientDescent, lambda batch_size, n_rows: 1),
    "batch_gd": (GradientDescent, lambda batch_size, n_rows: n_rows),
    "mini_batch_gd": (GradientDescent, lambda batch_size, n_rows: batch_size),
    "momentum": (Momentum, lambda batch_size, n_rows: batch_size),
    "adam": (Adam, lambda batch_size, n_rows: batch_size),
}


# ----------------------------------------------------------------------------------------------------------------
# 6. MLP: one class for single-label classification, multi-label classification and regression.
#    The tasks differ only in how targets are encoded, the output activation and its natural loss (see _set_up_task).
# ----------------------------------------------------------------------------------------------------------------
TASKS = ("classification", "multilabel", "regression")
MAIN_METRIC = {"classification": "accuracy", "multilabel": "hamming_accuracy", "regression": "r2"}


def accuracy(targets, predictions):
    """Fraction of rows predicted exactly (for 0/1 label matrices: the exact-match ratio)."""
    matches = targets == predictions
    return float(np.mean(matches if matches.ndim == 1 else matches.all(axis=1)))


def hamming_accuracy(targets, predictions):
    """1 − Hamming loss: fraction of individual labels predicted right."""
    return float(np.mean(targets == predictions))


def r2(targets, predictions):
    """R² = 1 − Σ(y − p)² / Σ(y − ȳ)², averaged over output columns (scikit-learn's 'uniform_average')."""
    targets, predictions = targets.reshape(len(targets), -1), predictions.reshape(len(predictions), -1)
    residual = np.sum((targets - predictions) ** 2, axis=0)
    total = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    safe_total = np.where(total > 0, total, 1.0)
    return float(np.mean(np.where(total > 0, 1.0 - residual / safe_total, 0.0)))


METRICS = {"accuracy": accuracy, "hamming_accuracy": hamming_accuracy, "r2": r2}


class MLP:
    """Multilayer perceptron trained by backpropagation.

    task='classification' (any label values; two classes use one sigmoid unit, more use softmax),
    'multilabel' (y is a 0/1 matrix, one sigmoid per label, decision `threshold`) or 'regression' (identity output).
    `loss=None` takes the task's natural loss; 'mse' can be forced on any output. `optimizer` is one of OPTIMIZERS:
    'sgd' steps on one row, 'batch_gd' on the whole set, the others on `batch_size` rows. `patience` stops training
    when the validation loss has not improved for that many epochs and restores the best weights. `alpha` is an L2
    penalty (alpha/2n)‖W‖² per batch, as scikit-learn's. Weights are (n_in, n_out) arrays in `weights`, biases in
    `biases`; He initialisation for relu layers, Glorot otherwise. `seed` makes fit repeatable bit for bit.
    """

    def __init__(self, hidden_layers=(64,), activation="relu", task="classification", loss=None,
                 optimizer="mini_batch_gd", learning_rate=0.01, batch_size=32, epochs=100, patience=None,
                 alpha=0.0, threshold=0.5, shuffle=True, warm_start=False, seed=0, verbose=False):
        check_choice(task, TASKS, "task")
        check_choice(optimizer, OPTIMIZERS, "optimizer")
        if loss is not None:
            check_choice(loss, LOSSES, "loss")
        self.hidden_layers = [int(width) for width in hidden_layers]
        if any(width < 1 for width in self.hidden_layers):
            raise ValueError(f"hidden layer widths must be positive integers, got {list(hidden_layers)}.")
        names = [activation] * len(self.hidden_layers) if isinstance(activation, str) else list(activation)
        if len(names) != len(self.hidden_layers):
            raise ValueError(f"give one activation, or one per hidden layer ({len(self.hidden_layers)}), "
                             f"got {len(names)}.")
        for name in names:
            check_choice(name, ACTIVATIONS, "activation")
        for value, what in ((learning_rate, "learning_rate"), (batch_size, "batch_size"), (epochs, "epochs")):
            if not value > 0:
                raise ValueError(f"{what} must be positive, got {value}.")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be a positive number of epochs or None, got {patience}.")
        self.activation, self.hidden_activations = activation, names
        self.task, self.loss, self.optimizer = task, loss, optimizer
        self.learning_rate, self.batch_size, self.epochs = learning_rate, int(batch_size), int(epochs)
        self.patience, self.alpha, self.threshold = patience, alpha, threshold
        self.shuffle, self.warm_start, self.seed, self.verbose = shuffle, warm_start, seed, verbose
        self.weights, self.biases = None, None

    def __repr__(self):
        return (f"{type(self).__name__}(hidden_layers={self.hidden_layers}, activation={self.activation!r}, "
                f"task={self.task!r}, optimizer={self.optimizer!r}, learning_rate={self.learning_rate}, "
                f"batch_size={self.batch_size}, epochs={self.epochs})")

    # --- targets and task set-up ------------------------------------------------------------------------------
    def _set_up_task(self, y):
        """Learn the target encoding from y; choose output activation and loss. Returns the encoded targets."""
        if self.task == "classification":
            labels = np.asarray(y)
            if labels.ndim != 1:
                raise ValueError(f"y must be 1-dimensional class labels for task='classification', got shape "
                                 f"{labels.shape}; use task='multilabel' for a 0/1 label matrix.")
            self.classes_ = np.unique(labels)
            if len(self.classes_) < 2:
                raise ValueError(f"classification needs at least two classes in y, got {self.classes_.tolist()}.")
            self.output_ = "sigmoid" if len(self.classes_) == 2 else "softmax"
        else:
            self.output_ = "sigmoid" if self.task == "multilabel" else "identity"
            self._flat_target = self.task == "regression" and np.ndim(y) == 1
        valid_losses = LOSSES_FOR_OUTPUT[self.output_]
        if self.loss is None:
            self.loss_ = valid_losses[0]
        elif self.output_ == "sigmoid" and self.task == "classification" and self.loss == "cross_entropy":
            self.loss_ = "binary_cross_entropy"   # two-class cross-entropy on one sigmoid unit is the same function
        else:
            check_choice(self.loss, valid_losses, f"loss for a {self.output_} output ({self.task})")
            self.loss_ = self.loss
        # The functions each layer applies, looked up once here rather than on every step.
        self._layer_activations = [*(ACTIVATIONS[name] for name in self.hidden_activations),
                                   OUTPUT_ACTIVATIONS[self.output_]]
        self._hidden_backward = [ACTIVATION_BACKWARD[name] for name in self.hidden_activations]
        return self._encode_targets(y)

    def _encode_targets(self, y):
        """Targets as a float (n, n_outputs) matrix matching the network's output."""
        if self.task == "classification":
            labels = np.asarray(y)
            if labels.ndim != 1 or len(labels) == 0:
                raise ValueError("y must be a non-empty 1-dimensional array of class labels, got shape "
                                 f"{labels.shape}.")
            unknown = np.setdiff1d(labels, self.classes_)
            if len(unknown):
                raise ValueError(f"y has labels not seen in fit: {unknown.tolist()[:10]}.")
            indices = np.searchsorted(self.classes_, labels)
            if self.output_ == "sigmoid":
                return indices.reshape(-1, 1).astype(np.float64)
            return np.eye(len(self.classes_))[indices]
        if self.task == "multilabel":
            targets = check_array(y, "y (multi-label 0/1 matrix)", ndim=2)
            if not np.isin(targets, (0.0, 1.0)).all():
                raise ValueError("y for task='multilabel' must be a 0/1 matrix (one column per label).")
            return targets
        targets = check_array(y, "y", ndim=np.ndim(y))
        if targets.ndim not in (1, 2):
            raise ValueError(f"y must be 1- or 2-dimensional for regression, got shape {targets.shape}.")
        return targets.reshape(len(targets), -1)

    # --- parameters -------------------------------------------------------------------------------------------
    def _init_params(self, n_features, n_outputs, rng):
        sizes = [n_features, *self.hidden_layers, n_outputs]
        layer_activations = [*self.hidden_activations, self.output_]
        self.weights, self.biases = [], []
        for n_in, n_out, name in zip(sizes[:-1], sizes[1:], layer_activations):
            if name == "relu":      # He: keeps the variance of relu activations constant across layers
                weights = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
            else:                   # Glorot: balances forward and backward variance for symmetric activations
                limit = np.sqrt(6.0 / (n_in + n_out))
                weights = rng.uniform(-limit, limit, size=(n_in, n_out))
            self.weights.append(weights)
            self.biases.append(np.zeros(n_out))

    def _params(self):
        return [*self.weights, *self.biases]

    def _pack_params(self):
        """Copy weights and biases into one flat vector and make them views into it; return the vector."""
        params = self._params()
        flat = np.empty(sum(param.size for param in params))
        views = self._views_into(flat)
        for view, param in zip(views, params):
            view[...] = param
        n_layers = len(self.weights)
        self.weights, self.biases = views[:n_layers], views[n_layers:]
        return flat

    def _views_into(self, flat):
        """Arrays shaped like _params() that share memory with the flat vector `flat`."""
        views, offset = [], 0
        for param in self._params():
            views.append(flat[offset:offset + param.size].reshape(param.shape))
            offset += param.size
        return views

    # --- forward pass and backpropagation ---------------------------------------------------------------------
    def _layer(self, layer, inputs):
        """aˡ = g(aˡ⁻¹ Wˡ + bˡ), with the output activation on the last layer."""
        return self._layer_activations[layer](inputs @ self.weights[layer] + self.biases[layer])

    def _forward(self, X):
        """Activations of every layer, input first: [X, a¹, …, aᴸ]."""
        activations = [X]
        for weights, biases, activation in zip(self.weights, self.biases, self._layer_activations):
            activations.append(activation(activations[-1] @ weights + biases))
        return activations

    def _backward(self, activations, targets, grads):
        """Write the batch-loss gradients into `grads` (C-contiguous arrays shaped like _params()) and return it:
        ∂L/∂Wˡ = aˡ⁻¹ᵀ δˡ,  ∂L/∂bˡ = Σ_rows δˡ,  δˡ⁻¹ = (δˡ Wˡᵀ) ∘ g'(zˡ⁻¹)."""
        n_layers = len(self.weights)
        weight_grads, bias_grads = grads[:n_layers], grads[n_layers:]
        delta = output_delta(self.output_, self.loss_, targets, activations[-1])
        for layer in range(n_layers - 1, -1, -1):
            np.matmul(activations[layer].T, delta, out=weight_grads[layer])
            if self.alpha:
                weight_grads[layer] += (self.alpha / len(targets)) * self.weights[layer]
            np.add.reduce(delta, axis=0, out=bias_grads[layer])
            if layer:
                delta = delta @ self.weights[layer].T
                self._hidden_backward[layer - 1](activations[layer], delta)
        return grads

    def _outputs(self, X):
        return self._forward(X)[-1]

    def _objective(self, X, targets):
        """The loss fit minimises on a batch: data loss + (alpha/2n) Σ‖W‖²."""
        penalty = self.alpha / (2.0 * len(X)) * sum(np.sum(weights ** 2) for weights in self.weights)
        return LOSSES[self.loss_](targets, self._outputs(X)) + penalty

    # --- training ---------------------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None):
        """Train on (X, y); per-epoch train/validation loss and main metric go to `history_`. Returns self."""
        X = check_array(X, "X")
        check_same_length(X, y)
        targets = self._set_up_task(y)
        validation = self._validation_set(X_val, y_val, X.shape[1])
        if self.patience is not None and validation is None:
            raise ValueError("patience (early stopping) watches the validation loss: pass X_val and y_val to fit.")
        rng = np.random.default_rng(self.seed)
        if not (self.warm_start and self._has_shapes(X.shape[1], targets.shape[1])):
            self._init_params(X.shape[1], targets.shape[1], rng)
        update_rule, rows_per_step = OPTIMIZERS[self.optimizer]
        optimizer = update_rule(self.learning_rate)
        batch_size = max(1, min(rows_per_step(self.batch_size, len(X)), len(X)))
        self._train(X, targets, validation, optimizer, batch_size, rng)
        return self

    def _validation_set(self, X_val, y_val, n_features):
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("pass both X_val and y_val, or neither.")
        X_val = check_array(X_val, "X_val")
        check_same_length(X_val, y_val, ("X_val", "y_val"))
        if X_val.shape[1] != n_features:
            raise ValueError(f"X_val has {X_val.shape[1]} features but X has {n_features}.")
        return X_val, self._encode_targets(y_val)

    def _has_shapes(self, n_features, n_outputs):
        return (self.weights is not None and self.weights[0].shape[0] == n_features
                and self.weights[-1].shape[1] == n_outputs
                and [w.shape[1] for w in self.weights[:-1]] == self.hidden_layers)

    def _train(self, X, targets, validation, optimizer, batch_size, rng):
        metric = MAIN_METRIC[self.task]
        self.history_ = {"epoch": [], "train_loss": [], f"train_{metric}": []}
        if validation is not None:
            self.history_.update({"val_loss": [], f"val_{metric}": []})
        self.diverged_, self.best_epoch_ = False, None
        params = self._pack_params()
        grads = np.zeros_like(params)
        best_loss, best_params, last_good = np.inf, None, params.copy()
        epochs = range(1, self.epochs + 1)
        if self.verbose:
            from tqdm.auto import tqdm
            epochs = tqdm(epochs, desc=type(self).__name__, leave=False)
        started = time.perf_counter()
        # Overflow in a diverging run is expected and handled below; numpy's warnings would only repeat it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in epochs:
                scores = self._scores(*self._run_epoch(X, targets, params, grads, optimizer, batch_size, rng),
                                      "train")
                if validation is not None:
                    scores.update(self._scores(validation[1], self._outputs(validation[0]), "val"))
                if not all(np.isfinite(value) for value in scores.values()):
                    self._stop_diverged(epoch, params, best_params if best_params is not None else last_good)
                    break
                self.history_["epoch"].append(epoch)
                for key, value in scores.items():
                    self.history_[key].append(value)
                last_good = params.copy()
                if self.patience is None:
                    continue
                if scores["val_loss"] < best_loss:
                    best_loss, best_params, self.best_epoch_ = scores["val_loss"], last_good, epoch
                elif epoch - self.best_epoch_ >= self.patience:
                    break
        if best_params is not None and not self.diverged_:
            params[...] = best_params
        self.n_epochs_ = len(self.history_["epoch"])
        self.fit_time_ = time.perf_counter() - started

    def _run_epoch(self, X, targets, params, grads, optimizer, batch_size, rng):
        """One pass over the (shuffled) training set. Returns the targets in the order seen and the network's
        output for each row at the moment it was trained on, for the epoch's running train loss and metric
        (the convention of scikit-learn's loss_curve_: no extra forward pass over the training set)."""
        if self.shuffle and batch_size < len(X):
            order = rng.permutation(len(X))
            X, targets = X[order], targets[order]
        outputs = np.empty_like(targets)
        grad_views = self._views_into(grads)
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            activations = self._forward(X[start:stop])
            outputs[start:stop] = activations[-1]
            self._backward(activations, targets[start:stop], grad_views)
            optimizer.step(params, grads)
        return targets, outputs

    def _stop_diverged(self, epoch, params, snapshot):
        self.diverged_ = True
        params[...] = snapshot
        warnings.warn(f"{type(self).__name__} diverged at epoch {epoch} (non-finite loss, learning_rate="
                      f"{self.learning_rate}); stopped and kept the last finite weights.", RuntimeWarning,
                      stacklevel=3)

    def _scores(self, targets, outputs, prefix):
        metric = MAIN_METRIC[self.task]
        loss = float(LOSSES[self.loss_](targets, outputs))
        value = METRICS[metric](self._target_labels(targets), self._decide(outputs)) if np.isfinite(loss) else loss
        return {f"{prefix}_loss": loss, f"{prefix}_{metric}": value}

    # --- prediction -------------------------------------------------------------------------------------------
    def _check_fitted(self, X):
        if self.weights is None or not hasattr(self, "output_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) first.")
        X = check_array(X, "X")
        if X.shape[1] != self.weights[0].shape[0]:
            raise ValueError(f"X has {X.shape[1]} features but the model was fitted with {self.weights[0].shape[0]}.")
        return X

    def _decide(self, outputs):
        """Network outputs → predictions in encoded form (class indices, 0/1 matrix or values)."""
        if self.task == "regression":
            return outputs
        if self.output_ == "sigmoid":
            decisions = (outputs > self.threshold).astype(np.int64)
            return decisions[:, 0] if self.task == "classification" else decisions
        return outputs.argmax(axis=1)

    def _target_labels(self, targets):
        """Encoded target matrix → the form _decide returns."""
        if self.task == "classification":
            return targets[:, 0].astype(np.int64) if self.output_ == "sigmoid" else targets.argmax(axis=1)
        return targets

    def predict(self, X):
        """Class labels, 0/1 label matrix, or regression values."""
        decisions = self._decide(self._outputs(self._check_fitted(X)))
        if self.task == "classification":
            return self.classes_[decisions]
        if self.task == "regression" and getattr(self, "_flat_target", False):
            return decisions[:, 0]
        return decisions

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), or per-label probabilities for multi-label."""
        if self.task == "regression":
            raise ValueError("predict_proba is for classification tasks; use predict for regression.")
        outputs = self._outputs(self._check_fitted(X))
        if self.task == "classification" and self.output_ == "sigmoid":
            return np.hstack([1.0 - outputs, outputs])
        return outputs

    def score(self, X, y):
        """The task's main metric: accuracy, hamming accuracy (multi-label) or R² (regression)."""
        X = self._check_fitted(X)
        check_same_length(X, y)
        targets = self._encode_targets(y)
        return METRICS[MAIN_METRIC[self.task]](self._target_labels(targets), self._decide(self._outputs(X)))

    # --- gradient checking ------------------------------------------------------------------------------------
    def check_gradients(self, X, y, eps=1e-6):
        """Backprop vs central differences (L(θ+ε) − L(θ−ε)) / 2ε for every parameter, on the whole of (X, y).

        Uses the current weights (initialised from `seed` if the model is not fitted). Returns one row per layer
        and parameter kind: max absolute difference and relative difference ‖g_bp − g_num‖ / (‖g_bp‖ + ‖g_num‖).
        """
        X = check_array(X, "X")
        check_same_length(X, y)
        if self.weights is None or not hasattr(self, "output_"):
            targets = self._set_up_task(y)
            self._init_params(X.shape[1], targets.shape[1], np.random.default_rng(self.seed))
        else:
            targets = self._encode_targets(y)
        backprop = self._backward(self._forward(X), targets, [np.empty_like(param) for param in self._params()])
        rows = []
        for index, (param, grad) in enumerate(zip(self._params(), backprop)):
            numeric = np.zeros_like(param)
            for position in np.ndindex(param.shape):
                original = param[position]
                param[position] = original + eps
                loss_plus = self._objective(X, targets)
                param[position] = original - eps
                loss_minus = self._objective(X, targets)
                param[position] = original
                numeric[position] = (loss_plus - loss_minus) / (2.0 * eps)
            scale = np.linalg.norm(grad) + np.linalg.norm(numeric)
            rows.append({"layer": index % len(self.weights) + 1,
                         "parameter": "weights" if index < len(self.weights) else "biases",
                         "shape": "×".join(map(str, param.shape)),
                         "max_abs_diff": float(np.max(np.abs(grad - numeric))),
                         "relative_diff": float(np.linalg.norm(grad - numeric) / scale) if scale else 0.0})
        return pd.DataFrame(rows).sort_values(["layer", "parameter"], ascending=[True, False], ignore_index=True)


class MLPClassifier(MLP):
    """MLP with task='classification' (softmax, or one sigmoid unit for two classes)."""

    def __init__(self, hidden_layers=(64,), **options):
        super().__init__(hidden_layers, task="classification", **options)


class MultiLabelMLPClassifier(MLP):
    """MLP with task='multilabel': one sigmoid per label, binary cross-entropy, decision `threshold`."""

    def __init__(self, hidden_layers=(64,), **options):
        super().__init__(hidden_layers, task="multilabel", **options)


class MLPRegressor(MLP):
    """MLP with task='regression': identity output and mean squared error."""

    def __init__(self, hidden_layers=(64,), **options):
        super().__init__(hidden_layers, task="regression", **options)


# ----------------------------------------------------------------------------------------------------------------
# 7. AutoEncoder: an MLP regressor whose target is its input; the narrowest layer is the latent code.
# ----------------------------------------------------------------------------------------------------------------
class AutoEncoder(MLP):
    """Encoder `encoder_layers` → `latent_dim` → mirrored decoder, trained to minimise the reconstruction MSE.

    `latent_activation` (default: `activation`) is the code layer's activation; 'linear' gives an unbounded code.
    Other options (optimizer, learning_rate, batch_size, epochs, patience, seed, ...) are the MLP's.
    """

    def __init__(self, encoder_layers=(12,), latent_dim=9, activation="relu", latent_activation=None, **options):
        if not isinstance(activation, str):
            raise ValueError("AutoEncoder takes one activation name for encoder and decoder layers.")
        self.encoder_layers, self.latent_dim = [int(width) for width in encoder_layers], int(latent_dim)
        self.latent_activation = latent_activation or activation
        decoder_layers = self.encoder_layers[::-1]
        activations = ([activation] * len(self.encoder_layers) + [self.latent_activation]
                       + [activation] * len(decoder_layers))
        super().__init__([*self.encoder_layers, self.latent_dim, *decoder_layers], activation=activations,
                         task="regression", **options)
        self.activation = activation

    def fit(self, X, X_val=None):
        """Learn to reconstruct X (validation reconstruction loss on X_val if given). Returns self."""
        return super().fit(X, X, X_val, X_val)

    def get_latent(self, X):
        """The code: activations of the latent layer, shape (n, latent_dim)."""
        codes = self._check_fitted(X)
        for layer in range(len(self.encoder_layers) + 1):
            codes = self._layer(layer, codes)
        return codes

    def reconstruct(self, X):
        """Decoder(encoder(X)), shape like X."""
        return self.predict(X)


# ----------------------------------------------------------------------------------------------------------------
# 8. PCA: the best linear reduction, the autoencoder's baseline.
# ----------------------------------------------------------------------------------------------------------------
class PCA:
    """Principal component analysis by SVD of the centred data: X ≈ mean + (X − mean) Vₖᵀ Vₖ."""

    def __init__(self, n_components):
        if int(n_components) != n_components or n_components < 1:
            raise ValueError(f"n_components must be a positive integer, got {n_components!r}.")
        self.n_components = int(n_components)

    def fit(self, X):
        X = check_array(X, "X")
        if self.n_components > min(X.shape):
            raise ValueError(f"n_components={self.n_components} exceeds min(n_samples, n_features)={min(X.shape)}.")
        self.mean_ = X.mean(axis=0)
        _, singular_values, components = np.linalg.svd(X - self.mean_, full_matrices=False)
        # Sign convention: the largest-magnitude loading of every component is positive, so results are stable.
        signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
        components *= signs[:, None]
        variances = singular_values ** 2 / max(len(X) - 1, 1)
        self.components_ = components[:self.n_components]
        self.explained_variance_ = variances[:self.n_components]
        self.explained_variance_ratio_ = self.explained_variance_ / variances.sum()
        return self

    def _check_fitted(self, X, space):
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit(X) first.")
        X = check_array(X, "X")
        n_columns = len(self.mean_) if space == "features" else self.n_components
        if X.shape[1] != n_columns:
            raise ValueError(f"expected {n_columns} columns, got {X.shape[1]}.")
        return X

    def transform(self, X):
        """Coordinates on the principal axes, shape (n, n_components)."""
        X = self._check_fitted(X, "features")
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z):
        """Back to feature space: mean + Z Vₖ."""
        Z = self._check_fitted(Z, "components")
        return Z @ self.components_ + self.mean_

    def fit_transform(self, X):
        return self.fit(X).transform(X)


# ----------------------------------------------------------------------------------------------------------------
# 9. KNN: exact brute-force neighbours, fast.
#    Scanning all training rows is done in float32 (half the memory traffic of float64) in cache-sized blocks, on
#    every core. float32 only proposes candidates: a proven rounding margin guarantees that no true neighbour is
#    missed, and the candidates are then ranked by exact float64 distances, ties going to the lower training index.
# ----------------------------------------------------------------------------------------------------------------
KNN_METRICS = ("euclidean", "manhattan", "cosine")
FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24


def _row_normalised(X):
    """Rows scaled to unit L2 norm; all-zero rows stay zero (cosine distance 1 to everything, as scikit-learn)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def exact_distances(metric, queries, points):
    """Row-wise float64 distance between queries[i] and points[i] (both (n, d))."""
    if metric == "manhattan":
        # Summed feature by feature, left to right, as scikit-learn does: the same rounding decides near-ties
        # the same way. (numpy's sum(axis=1) would add in a pairwise order.)
        differences = np.abs(queries - points)
        total = differences[:, 0].copy()
        for column in differences.T[1:]:
            total += column
        return total
    if metric == "euclidean":
        return np.sqrt(((queries - points) ** 2).sum(axis=1))
    return 1.0 - (_row_normalised(queries) * _row_normalised(points)).sum(axis=1)


class KNN:
    """k-nearest-neighbour classifier with majority vote (ties between classes go to the first class in
    `classes_`, as scikit-learn). metric: 'euclidean' ‖q − t‖₂, 'manhattan' ‖q − t‖₁, 'cosine' 1 − q·t/(‖q‖‖t‖).
    `n_jobs` threads (default: all cores) each work on `block_size` queries at a time, so memory stays bounded.
    """

    SAMPLE_SIZE = 8192      # training rows used to bound each query's k-th distance before the full scan
    CHUNK_SIZE = 8192       # training rows per float32 scan block (measured: larger blocks amortise call overhead)

    def __init__(self, k=5, metric="euclidean", n_jobs=None, block_size=32):
        check_choice(metric, KNN_METRICS, "metric")
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}.")
        self.k, self.metric, self.n_jobs, self.block_size = int(k), metric, n_jobs, int(block_size)

    def fit(self, X, y):
        X = check_array(X, "X")
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ValueError(f"y must be 1-dimensional class labels, got shape {labels.shape}.")
        check_same_length(X, labels)
        if self.k > len(X):
            raise ValueError(f"k={self.k} is larger than the training set ({len(X)} rows): lower k or add data.")
        self.classes_, self._label_codes = np.unique(labels, return_inverse=True)
        self._points = np.ascontiguousarray(X)
        scan_points = _row_normalised(X) if self.metric == "cosine" else X
        self._points32_by_feature = np.ascontiguousarray(scan_points.T, dtype=np.float32)   # (d, m)
        if self.metric == "manhattan":
            self._scan_offset = np.zeros(len(X), np.float32)
            self._scale = np.abs(X).sum(axis=1).max()
        else:   # squared norms for ‖q − t‖² = ‖q‖² + ‖t‖² − 2 q·t
            self._scan_offset = (scan_points ** 2).sum(axis=1).astype(np.float32)
            self._scale = self._scan_offset.max()
        sample_step = max(1, len(X) // self.SAMPLE_SIZE)
        self._sample = np.arange(0, len(X), sample_step)
        return self

    # --- float32 scan -----------------------------------------------------------------------------------------
    def _scan(self, queries32, columns):
        """Approximate distances (squared for euclidean) from each query to training rows `columns` (a slice or
        index array), float32."""
        points = self._points32_by_feature[:, columns]
        offset = self._scan_offset[columns]
        if self.metric == "manhattan":
            total = np.zeros((len(queries32), points.shape[1]), np.float32)
            scratch = np.empty_like(total)
            for feature in range(points.shape[0]):
                np.subtract(queries32[:, feature:feature + 1], points[feature], out=scratch)
                np.abs(scratch, out=scratch)
                total += scratch
            return total
        products = queries32 @ points
        if self.metric == "cosine":
            return 1.0 - products
        return (queries32 ** 2).sum(axis=1, keepdims=True) + offset - 2.0 * products

    def _margin(self, queries):
        """Bound on |float32 scan − exact| per query, from the standard rounding-error analysis of sums and
        dot products (n terms → error ≤ n·u·Σ|terms|), with room to spare."""
        n_terms = queries.shape[1] + 8
        if self.metric == "manhattan":
            size = np.abs(queries).sum(axis=1) + self._scale
        elif self.metric == "euclidean":
            size = (queries ** 2).sum(axis=1) + self._scale
        else:
            size = np.full(len(queries), 2.0)
        return 4.0 * n_terms * FLOAT32_UNIT_ROUNDOFF * size

    # --- neighbours -------------------------------------------------------------------------------------------
    def _block_neighbours(self, queries):
        """(distances, indices) of the k nearest training rows for a block of queries, sorted by distance."""
        scan_queries = _row_normalised(queries) if self.metric == "cosine" else queries
        queries32 = scan_queries.astype(np.float32)
        margin = self._margin(queries)
        # 1. Any k sampled rows bound the k-th distance from above; widen by the rounding margin twice (once for
        #    the bound, once for the row compared with it) so that no true neighbour can fall outside.
        sampled = self._scan(queries32, self._sample)
        bound = np.partition(sampled, self.k - 1, axis=1)[:, self.k - 1] + 2.0 * margin
        # 2. Scan every training row; keep those within the bound.
        rows, columns = [], []
        for start in range(0, len(self._points), self.CHUNK_SIZE):
            scanned = self._scan(queries32, slice(start, start + self.CHUNK_SIZE))
            hits = np.flatnonzero(scanned <= bound[:, None])   # 1-D nonzero is several times faster than 2-D
            rows.append(hits // scanned.shape[1])
            columns.append(hits % scanned.shape[1] + start)
        rows, columns = np.concatenate(rows), np.concatenate(columns)
        # 3. Rank candidates by exact distance, then index; take the first k of every query.
        distances = exact_distances(self.metric, queries[rows], self._points[columns])
        order = np.lexsort((columns, distances, rows))
        firsts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(queries)))[:-1]])
        picked = order[firsts[:, None] + np.arange(self.k)]
        return distances[picked], columns[picked]

    def kneighbors(self, X):
        """Distances and training-row indices of the k nearest neighbours of each row of X, nearest first."""
        if not hasattr(self, "_points"):
            raise RuntimeError("this KNN is not fitted yet: call fit(X, y) first.")
        X = check_array(X, "X")
        if X.shape[1] != self._points.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but the model was fitted with {self._points.shape[1]}.")
        blocks = [X[start:start + self.block_size] for start in range(0, len(X), self.block_size)]
        from threadpoolctl import threadpool_limits
        # One BLAS thread per worker: the workers already occupy every core.
        with threadpool_limits(1), ThreadPoolExecutor(self.n_jobs or os.cpu_count()) as pool, \
                np.errstate(over="ignore", invalid="ignore"):
            results = list(pool.map(self._block_neighbours, blocks))
        return np.vstack([d for d, _ in results]), np.vstack([i for _, i in results])

    def predict_proba(self, X):
        """Fraction of the k neighbours in each class, columns ordered as `classes_`."""
        _, indices = self.kneighbors(X)
        votes = self._label_codes[indices]
        counts = np.zeros((len(votes), len(self.classes_)))
        np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1.0)
        return counts / self.k

    def predict(self, X):
        """Majority class among the k neighbours."""
        winners = self.predict_proba(X).argmax(axis=1)
        return self.classes_[winners]


# ----------------------------------------------------------------------------------------------------------------
# 10. Experiment running: W&B grid sweeps on every core, one W&B run per training, results cached.
# ----------------------------------------------------------------------------------------------------------------
# The report's grid (sections 2.3 and 3.3): 4 × 2 × 4 × 3 × 2 × 2 = 384 points.
REPORT_GRID = {
    "hidden_layers": {"values": [[64], [32, 32], [32, 64], [32, 32, 32]]},
    "learning_rate": {"values": [0.001, 0.01]},
    "activation": {"values": ["relu", "sigmoid", "linear", "tanh"]},
    "optimizer": {"values": ["sgd", "mini_batch_gd", "batch_gd"]},
    "batch_size": {"values": [16, 32]},
    "epochs": {"values": [100, 200]},
}


def report_sweep_config(name, metric, patience=20, quick=False):
    """The report's W&B grid sweep configuration, with early stopping at `patience`; quick=True keeps 8 points."""
    parameters = {**REPORT_GRID, "patience": {"value": patience}}
    if quick:
        parameters.update(hidden_layers={"values": [[32, 32]]}, learning_rate={"values": [0.01]},
                          activation={"values": ["relu", "tanh"]}, optimizer={"values": ["mini_batch_gd", "batch_gd"]},
                          epochs={"values": [10]})
    return {"name": f"{name}-quick" if quick else name, "method": "grid",
            "metric": {"name": metric, "goal": "maximize"}, "parameters": parameters}


def expand_grid(sweep_config):
    """All points of a W&B grid sweep configuration ({'method': 'grid', 'parameters': {name: {'values': [...]}}}),
    as config dicts, in W&B's order (the last parameter varies fastest)."""
    if sweep_config.get("method") != "grid":
        raise ValueError(f"run_sweep expands grid sweeps; got method {sweep_config.get('method')!r}. "
                         "Use `wandb sweep` + `wandb agent` for random or bayes searches.")
    names, choices = [], []
    for name, spec in sweep_config.get("parameters", {}).items():
        if "values" in spec:
            choices.append(list(spec["values"]))
        elif "value" in spec:
            choices.append([spec["value"]])
        else:
            raise ValueError(f"grid parameter {name!r} needs 'values' (a list) or 'value'.")
        names.append(name)
    if not names:
        raise ValueError("the sweep configuration has no 'parameters'.")
    return [dict(zip(names, point)) for point in itertools.product(*choices)]


def wandb_mode():
    """WANDB_MODE when set; otherwise 'online' if a W&B API key is configured, else 'offline' (runs land in
    ./wandb and can be uploaded later with `wandb sync`)."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    netrc = Path.home() / ".netrc"
    logged_in = bool(os.environ.get("WANDB_API_KEY")) or (netrc.is_file() and "api.wandb.ai" in netrc.read_text())
    return "online" if logged_in else "offline"


@contextlib.contextmanager
def wandb_run(config=None, **init_options):
    """A W&B run with the project's mode rule; yields (run, config dict). Under `wandb.agent` call it with
    config=None: the sweep controller's values arrive through run.config, so one train function serves both."""
    import wandb
    init_options.setdefault("dir", os.environ.get("WANDB_DIR", str(PROJECT_DIR)))
    run = wandb.init(config=config, mode=wandb_mode(), reinit="finish_previous", **init_options)
    try:
        yield run, dict(run.config)
    finally:
        run.finish()


def log_history(run, history):
    """One W&B step per epoch with every per-epoch series in `history` (an MLP's history_)."""
    for values in zip(*history.values()):
        run.log(dict(zip(history, values)))


def _run_grid_point(train_fn, config, project, group):
    os.environ["WANDB_PROJECT"], os.environ["WANDB_RUN_GROUP"] = project, group   # read by wandb.init
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)    # divergence is recorded in the row instead
            metrics = dict(train_fn(config))
        status = "diverged" if metrics.get("diverged") else "finished"
    except Exception as error:    # one broken point must not stop a sweep of hundreds; the row says why
        metrics, status = {"error": f"{type(error).__name__}: {error}"}, "failed"
    return {**config, **metrics, "status": status, "seconds": time.perf_counter() - started}


def run_sweep(train_fn, sweep_config, project="from-scratch-mlp", n_jobs=None, force=False, training_key=None,
              budget=None):
    """Run `train_fn(config)` for every point of a W&B grid sweep configuration, in parallel with a progress bar.

    `train_fn` trains and evaluates one configuration and returns a dict of metrics (include 'diverged': bool);
    it should log through `wandb_run(config)`, which makes each training one W&B run in `project`, grouped by the
    sweep's name. A point that raises or diverges is recorded in its row (status, error) and the sweep goes on.
    Two optional shortcuts never change a result, they only skip trainings whose outcome is already known:
    - `training_key(config)` maps configs that train identically to the same value (plain SGD ignores
      batch_size); each such group is trained once.
    - `budget` names a parameter that only caps the training length (e.g. 'epochs', with a fixed seed). Points with
      the largest budget train first; a point with a smaller budget reuses such a run if that run stopped early
      within the smaller budget, since both then follow the same trajectory. train_fn reports f'{budget}_run'.
    Every row names the point whose training it shows in `trained_as`. Returns one row per point (config,
    metrics, status, seconds); `.attrs['wall_time']` is the sweep's wall time. The table is cached in
    results/sweeps/<name>.json and reused while the configuration is unchanged, unless force=True (or
    FORCE_SWEEPS=1 in the environment).
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm
    name = sweep_config.get("name", "sweep")
    points = expand_grid(sweep_config)
    cache = RESULTS_DIR / "sweeps" / f"{name}.json"
    if cache.is_file() and not (force or FORCE_SWEEPS):
        stored = json.loads(cache.read_text())
        if stored["sweep_config"] == json.loads(json.dumps(sweep_config)):
            table = pd.DataFrame(stored["rows"])
            table.attrs.update(wall_time=stored["wall_time"], cached=True)
            return table

    def identity(point):
        return json.dumps(training_key(point) if training_key else point, sort_keys=True)

    first_of_identity = {}
    source = [first_of_identity.setdefault(identity(point), index) for index, point in enumerate(points)]
    own = sorted(set(source))
    trained, reused = {}, {}
    progress = tqdm(total=len(own), desc=f"sweep {name}")

    def train(indices):
        jobs = (delayed(_run_grid_point)(train_fn, points[index], project, name) for index in indices)
        for index, row in zip(indices, Parallel(n_jobs=n_jobs or os.cpu_count(), return_as="generator")(jobs)):
            trained[index] = row
            progress.update()

    started = time.perf_counter()
    if budget is None:
        train(own)
    else:
        longest = max(point[budget] for point in points)
        train([index for index in own if points[index][budget] == longest])
        for index in (index for index in own if points[index][budget] != longest):
            parent = first_of_identity.get(identity({**points[index], budget: longest}))
            row = trained.get(parent)
            if row and row["status"] != "failed" and row.get(f"{budget}_run", np.inf) <= points[index][budget]:
                reused[index] = parent
        progress.total -= len(reused)
        train([index for index in own if index not in trained and index not in reused])
    progress.close()
    wall_time = time.perf_counter() - started
    rows = []
    for point, index in zip(points, source):
        served_by = reused.get(index, index)
        rows.append({**trained[served_by], **point, "trained_as": served_by})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"sweep_config": sweep_config, "wall_time": wall_time, "rows": rows},
                                indent=1, default=_json_default))
    table = pd.DataFrame(rows)
    table.attrs.update(wall_time=wall_time, cached=False)
    return table


def mlp_training_key(config):
    """Sweep configs that train the same MLP: 'sgd' (one row per step) and 'batch_gd' (all rows) ignore
    batch_size."""
    if config.get("optimizer") in ("sgd", "batch_gd"):
        return {**config, "batch_size": None}
    return config


SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}


def mlp_from_config(config, task="classification", seed=None, patience=None):
    """The MLP a sweep config describes: hidden_layers, activation, optimizer, learning_rate, batch_size, epochs,
    and optionally patience and seed (the arguments override missing keys)."""
    return MLP(config["hidden_layers"], activation=config["activation"], task=task, optimizer=config["optimizer"],
               learning_rate=config["learning_rate"], batch_size=config["batch_size"], epochs=config["epochs"],
               patience=config.get("patience", patience),
               seed=config.get("seed", 0) if seed is None else seed)


def sklearn_twin(config, task, n_train, seed=0, patience=20):
    """scikit-learn's MLP configured like `mlp_from_config(config)`: same layers, activation, rows per step,
    learning rate and epoch budget; plain SGD without penalty (Adam / heavy-ball momentum when asked); early
    stopping with the same patience, on scikit-learn's own 10 % validation split."""
    from sklearn import neural_network
    model = neural_network.MLPRegressor if task == "regression" else neural_network.MLPClassifier
    optimizer = config["optimizer"]
    return model(hidden_layer_sizes=tuple(config["hidden_layers"]), activation=SKLEARN_ACTIVATION[config["activation"]],
                 solver="adam" if optimizer == "adam" else "sgd", momentum=0.9 if optimizer == "momentum" else 0.0,
                 nesterovs_momentum=False, alpha=0.0, learning_rate_init=config["learning_rate"],
                 batch_size=OPTIMIZERS[optimizer][1](config["batch_size"], n_train), max_iter=config["epochs"],
                 early_stopping=True, n_iter_no_change=patience, random_state=seed)


def sweep_trial(config, split, task="classification"):
    """Train the MLP described by one sweep config on `split`, log it as a W&B run, return validation metrics.

    config keys: hidden_layers, activation, optimizer, learning_rate, batch_size, epochs, optional seed and
    patience. Works as a run_sweep point and, with config=None, under `wandb.agent`.
    """
    with wandb_run(config) as (run, config):
        model = mlp_from_config(config, task).fit(*split.fit_args)
        log_history(run, model.history_)
        metric = MAIN_METRIC[task]
        summary = {f"val_{name}": value for name, value in
                   evaluate(task, split.y_val, model.predict(split.X_val)).items()}
        kept = (model.best_epoch_ or model.n_epochs_) - 1       # the epoch whose weights the model holds
        summary.update({f"best_val_{metric}": max(model.history_[f"val_{metric}"], default=np.nan),
                        "train_loss": model.history_["train_loss"][kept] if model.n_epochs_ else np.nan,
                        "val_loss": model.history_["val_loss"][kept] if model.n_epochs_ else np.nan,
                        "epochs_run": model.n_epochs_, "best_epoch": model.best_epoch_,
                        "diverged": model.diverged_})
        run.summary.update(summary)
        return summary


# ----------------------------------------------------------------------------------------------------------------
# 11. Report outputs: metrics, figures and the numbers report.md is generated from.
# ----------------------------------------------------------------------------------------------------------------
def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a results file")


def save_figure(figure, name):
    """Write a figure to figures/<name>.png (quick mode: build/quick/figures). Returns nothing, so that a notebook
    cell ending with it shows the figure and no file path of this machine."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    figure.savefig(FIGURES_DIR / f"{name}.png", dpi=130, bbox_inches="tight")


def save_results(name, results):
    """Write a notebook's quoted numbers to results/<name>.json; report.md is generated from these files."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=1, default=_json_default, ensure_ascii=False), encoding="utf-8")
    return path


def evaluate(task, y_true, y_pred):
    """The report's metrics for predictions of a classification, multi-label or regression task."""
    from sklearn import metrics
    if task == "classification":
        averaged = metrics.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        return {"accuracy": metrics.accuracy_score(y_true, y_pred), **dict(zip(("precision", "recall", "f1"),
                                                                                averaged[:3]))}
    if task == "multilabel":
        scores = {"exact_match": metrics.accuracy_score(y_true, y_pred),
                  "hamming_loss": metrics.hamming_loss(y_true, y_pred)}
        scores["hamming_accuracy"] = 1.0 - scores["hamming_loss"]
        for average in ("micro", "macro"):
            averaged = metrics.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
            scores.update({f"{name}_{average}": value for name, value in zip(("precision", "recall", "f1"),
                                                                               averaged[:3])})
        return scores
    mse_value = metrics.mean_squared_error(y_true, y_pred)
    return {"mse": mse_value, "rmse": float(np.sqrt(mse_value)), "mae": metrics.mean_absolute_error(y_true, y_pred),
            "r2": metrics.r2_score(y_true, y_pred)}


def plot_histories(histories, key="loss", ax=None, title=None):
    """Curves of `train_<key>` (dashed) and `val_<key>` (solid) per epoch for each labelled history."""
    import matplotlib.pyplot as plt
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for (label, history), colour in zip(histories.items(), itertools.cycle(plt.rcParams["axes.prop_cycle"])):
        ax.plot(history["epoch"], history[f"train_{key}"], "--", color=colour["color"], alpha=0.8)
        if f"val_{key}" in history:
            ax.plot(history["epoch"], history[f"val_{key}"], "-", color=colour["color"], label=label)
    ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=title)
    ax.legend(title="solid: validation, dashed: train", fontsize=8, title_fontsize=8)
    return ax


def plot_sweep_effects(table, parameters, metric, title=None):
    """One panel per hyperparameter: the distribution of `metric` over all sweep runs at each of its values."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    n_rows = -(-len(parameters) // 3)          # three panels a row keeps the figure legible on a page
    figure, axes = plt.subplots(n_rows, min(3, len(parameters)), figsize=(11, 3.3 * n_rows), sharey=True,
                                squeeze=False)
    shown = table.assign(**{name: table[name].astype(str) for name in parameters})
    for ax in axes.flat[len(parameters):]:
        ax.axis("off")
    saved_state = np.random.get_state()
    np.random.seed(0)       # seaborn jitters strip points with numpy's global generator: fix it, then restore it
    for ax, name in zip(axes.flat, parameters):
        sns.boxplot(data=shown, x=name, y=metric, ax=ax, color="#cfe0f3", fliersize=0)
        sns.stripplot(data=shown, x=name, y=metric, ax=ax, size=2.5, alpha=0.5, color="#1f4e79")
        ax.tick_params(axis="x", rotation=30)
        ax.set(xlabel=name.replace("_", " "), ylabel=metric.replace("_", " "))
    np.random.set_state(saved_state)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
