"""The engine of the report: data, maths, models and experiment running, all from scratch in NumPy.

Read top-down:
  1. paths and run mode        QUICK switch shared by every notebook
  2. files                     atomic writes, results files, journals that let interrupted work resume
  3. data                      loaders for the five CSVs and their train/validation/test splits (Split)
  4. input checks              arrays and constructor parameters → a clear ValueError when wrong
  5. activations and losses    tiny functions in registries keyed by name
  6. optimizers                update rules: gradient descent, momentum, Adam
  7. metrics                   the models' scores and the notebooks' fuller evaluation
  8. MLP                       one class for classification, multi-label and regression (+ one class per task)
  9. AutoEncoder               an MLP trained to reproduce its input
 10. PCA                       the linear baseline for the autoencoder
 11. KNN                       exact, blocked, multi-threaded nearest neighbours
 12. model builders            the MLP a sweep configuration describes and its scikit-learn twin
 13. experiment running        W&B grid sweeps in parallel, journaled; one sweep trial; cross-validated re-ranking
 14. report outputs            figures and the results files report.md is generated from
Every model is a scikit-learn estimator (get_params, clone, Pipeline, cross_val_score) whose maths is written here;
scikit-learn is used for preprocessing, metrics, baselines and that interface only, never inside a model's maths.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import itertools
import json
import numbers
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if

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
# 2. Files. Every file is written whole or not at all (a temporary file renamed into place), and long work is kept
#    in a journal, one line per finished item, so that an interrupted run resumes where it stopped.
# ----------------------------------------------------------------------------------------------------------------
def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a results file")


def to_json(value, **options):
    """JSON text of results that may hold numpy numbers and arrays (NaN stays NaN)."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, **options)


def write_atomic(path, data):
    """Write text or bytes to `path` through a temporary file in the same folder renamed into place, so that an
    interrupted write (a kill, a full disk) leaves the previous file whole. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)          # mkstemp makes the file private; results are ordinary files
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def note(message):
    """One line to the user about a cache (the notebook shows it under the cell)."""
    print(message, file=sys.stderr, flush=True)


JOURNAL_FORMAT = 3      # 1: one JSON document per sweep; 2: a header without the data's and the code's fingerprints


# --- fingerprints: a cached result is keyed by everything it depends on -----------------------------------------
# The engine is this file down to the line below that ends it; what follows the line (figures, wording) presents
# results and cannot change one, so editing it keeps every cache. A test checks that everything a journal runs is
# defined above the line.
ENGINE_END = "# === end of the engine ==="


def _engine_source():
    text = Path(__file__).read_text(encoding="utf-8")
    return text[:text.index("\n" + ENGINE_END) + 1]


def _feed(hasher, value):
    """Feed `value` to `hasher`, unambiguously: arrays by dtype, shape and bytes (no copy when contiguous),
    frames by their hashed cells and labels, containers and dataclasses item by item, plain values as JSON."""
    if isinstance(value, np.ndarray):
        hasher.update(f"array {value.dtype.str} {value.shape}".encode())
        if value.dtype == object:
            hasher.update(to_json(value.tolist()).encode())
        else:
            _feed_bytes(hasher, value)
    elif isinstance(value, (pd.DataFrame, pd.Series)):
        hasher.update(f"frame {list(map(str, getattr(value, 'columns', [value.name])))}".encode())
        _feed(hasher, pd.util.hash_pandas_object(value, index=True).to_numpy())
    elif hasattr(value, "__dataclass_fields__"):
        hasher.update(f"dataclass {type(value).__name__}".encode())
        for name in value.__dataclass_fields__:
            _feed(hasher, getattr(value, name))
    elif isinstance(value, dict):
        hasher.update(f"dict {len(value)}".encode())
        for key, item in value.items():
            _feed(hasher, key)
            _feed(hasher, item)
    elif isinstance(value, (list, tuple, range)):
        hasher.update(f"{type(value).__name__} {len(value)}".encode())
        for item in value:
            _feed(hasher, item)
    elif value is None or isinstance(value, (bool, numbers.Number, str)):
        hasher.update(to_json([value]).encode())
    else:       # a fitted preprocessing object and the like: determined by the arrays it was fitted on
        hasher.update(f"object {type(value).__module__}.{type(value).__qualname__}".encode())


def _feed_bytes(hasher, array, block_bytes=2 ** 20):
    """The bytes of an array in C order; a view (transposed, sliced) is copied a block of about a megabyte at a
    time, never whole."""
    if array.flags.c_contiguous:
        hasher.update(memoryview(array).cast("B"))
    elif array.ndim > 1 and array[0].nbytes > block_bytes:
        for row in array:
            _feed_bytes(hasher, row, block_bytes)
    else:
        step = max(1, block_bytes // max(1, array[0].nbytes if array.ndim > 1 else array.itemsize))
        for start in range(0, len(array), step):
            hasher.update(memoryview(np.ascontiguousarray(array[start:start + step])).cast("B"))


def data_fingerprint(*values):
    """A short hash of the data `values` hold (arrays, frames, Splits, and containers of them): equal data, equal
    fingerprint; one changed cell, another."""
    hasher = hashlib.sha256()
    _feed(hasher, values)
    return hasher.hexdigest()[:16]


def _function_text(function):
    """What a function's results depend on besides its arguments: the engine for the engine's functions, its
    compiled code (instructions, constants, names; nested functions too) for any other (a notebook's)."""
    if getattr(function, "__module__", None) == __name__:
        return f"engine {function.__qualname__}"
    code = getattr(function, "__code__", None)
    if code is None:
        return f"{type(function).__module__}.{getattr(function, '__qualname__', type(function).__qualname__)}"

    def text(code):
        constants = [text(item) if inspect.iscode(item) else repr(item) for item in code.co_consts]
        return f"{code.co_code.hex()} {constants} {code.co_names}"
    return f"{function.__module__}.{function.__qualname__} {text(code)}"


def code_fingerprint(*functions):
    """A short hash of the code behind a result: the engine's source (see ENGINE_END), the versions of NumPy and
    scikit-learn that compute with it, and `functions` defined elsewhere (by their compiled code)."""
    import sklearn
    hasher = hashlib.sha256(_engine_source().encode("utf-8"))
    hasher.update(f"numpy {np.__version__} scikit-learn {sklearn.__version__}".encode())
    for function in functions:
        hasher.update(_function_text(function).encode("utf-8"))
    return hasher.hexdigest()[:16]


def call_fingerprints(function):
    """{'code': …, 'data': …} of a function that a journal calls with configurations only: a partial's function
    (nested partials unwrapped) is code, its bound arguments are data."""
    functions, arguments = [], []
    while isinstance(function, functools.partial):
        arguments += [function.args, function.keywords]
        function = function.func
    functions.append(function)
    return {"code": code_fingerprint(*functions), "data": data_fingerprint(*arguments)}


# --- journals -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _folder_lock(folder):
    """An exclusive lock on a folder, so that two processes writing journals there take turns (a no-op where the
    system has no flock)."""
    try:
        import fcntl
    except ImportError:             # Windows: one writer at a time is the user's to ensure
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)        # closing releases the lock


class Journal:
    """The finished items of one long computation (the trainings of a sweep, the folds of a cross-validation),
    appended one JSON line each as they finish. Its first line, the header, holds everything the results depend on:
    the setting (grid, folds, seeds…), the fingerprint of the data the items train and score on, and that of the
    code that computes them (code_fingerprint). A journal whose header differs in any of them is started afresh,
    with one line naming what changed; so is one that is unreadable or of an older format. A line cut off by an
    interruption is dropped and its item redone. Writers take turns under a lock on the folder, and a writer whose
    journal another has restarted for another header stops recording into it."""

    def __init__(self, path, setting, data="", code="", force=False):
        self.path = Path(path)
        self.header = json.loads(to_json({"format": JOURNAL_FORMAT, "setting": setting, "data": data,
                                           "code": code}))
        self.session, self.started = time.time(), time.perf_counter()
        self.records = {}
        with _folder_lock(self.path.parent):
            if force or not self._load():
                self.records = {}
                write_atomic(self.path, self._header_line() + "\n")

    def _header_line(self):
        return json.dumps(self.header, ensure_ascii=False)

    def _stale(self, header):
        """Why a journal with this header cannot serve this computation, or '' if it can."""
        if not isinstance(header, dict):
            return "is unreadable (no header)"
        if header.get("format") != JOURNAL_FORMAT:
            return "is in an older format"
        changed = [what for key, what in (("setting", "another configuration"), ("data", "other data"),
                                          ("code", "other code (the engine, its libraries or the function it runs)"))
                   if header.get(key) != self.header[key]]
        return f"holds results of {' and '.join(changed)}" if changed else ""

    def _load(self):
        """Read the journal if its header matches; rewrite it without lines an interruption cut off."""
        if not self.path.is_file():
            return False
        kept, torn = [], False
        try:
            with open(self.path, encoding="utf-8") as file:
                header = json.loads(file.readline())
                stale = self._stale(header)
                if stale:
                    note(f"{self.path} {stale}; it is recomputed.")
                    return False
                for line in file:
                    try:
                        record = json.loads(line)
                        key = json.dumps(record["key"])
                        record["result"]
                    except (ValueError, KeyError, TypeError):
                        torn = True
                        continue
                    torn |= not line.endswith("\n")
                    self.records[key] = record
                    kept.append(line.rstrip("\n"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            note(f"{self.path} is unreadable ({type(error).__name__}); it is recomputed.")
            self.records = {}
            return False
        if torn:
            write_atomic(self.path, "\n".join([self._header_line(), *kept]) + "\n")
        return True

    def __contains__(self, key):
        return json.dumps(key) in self.records

    def result(self, key):
        return self.records[json.dumps(key)]["result"]

    def record(self, key, result):
        """Append one finished item, flushed to disk (a kill right after keeps it), in one write under the lock."""
        line = to_json({"key": key, "result": result, "session": self.session,
                        "elapsed": time.perf_counter() - self.started})
        self.records[json.dumps(key)] = json.loads(line)
        with _folder_lock(self.path.parent):
            try:
                with open(self.path, encoding="utf-8") as file:
                    ours = file.readline().rstrip("\n") == self._header_line()
            except (OSError, UnicodeDecodeError):
                ours = False
            if not ours:            # another writer restarted it for another header: its file, not ours
                return
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(descriptor, (line + "\n").encode("utf-8"))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    @property
    def wall_time(self):
        """Seconds the recorded work took: per session that added to the journal, its last item's time."""
        sessions = {}
        for record in self.records.values():
            sessions[record["session"]] = max(sessions.get(record["session"], 0.0), record["elapsed"])
        return sum(sessions.values())

    @property
    def trained_now(self):
        """How many of the recorded items this session computed (0: everything came from the journal)."""
        return sum(record["session"] == self.session for record in self.records.values())

    def provenance(self):
        """'40 trainings in 12 s, 25 now and 15 from the journal results/sweeps/x.jsonl' (or 'all from …')."""
        total, now = len(self.records), self.trained_now
        source = (f"all from the journal {self.path.name}" if now == 0 else "all trained now" if now == total
                  else f"{now} trained now, {total - now} from the journal {self.path.name}")
        return f"{total} trainings in {self.wall_time:.0f} s, {source}"


def _workers(n_jobs):
    """Parallel workers for `n_jobs`: None or -1 means every core."""
    return os.cpu_count() if n_jobs in (None, -1) else n_jobs


def _keyed_call(key, call):
    return key, call()


def run_journaled(journal, calls, n_jobs=None, progress=None):
    """Run, in parallel, every call of `calls` ({key: function without arguments}) whose key the journal lacks,
    recording each result as it finishes (whatever the order); return {key: result} for every key, the results as
    the journal holds them, so that a resumed run returns exactly what an uninterrupted one does."""
    from joblib import Parallel, delayed
    todo = [key for key in calls if key not in journal]
    if todo:
        jobs = (delayed(_keyed_call)(key, calls[key]) for key in todo)
        for key, result in Parallel(n_jobs=_workers(n_jobs), return_as="generator_unordered")(jobs):
            journal.record(key, result)
            if progress is not None:
                progress.update()
    return {key: journal.result(key) for key in calls}


# ----------------------------------------------------------------------------------------------------------------
# 3. Data
# ----------------------------------------------------------------------------------------------------------------
SPOTIFY_FEATURES = ["popularity", "duration_ms", "explicit", "danceability", "energy", "key", "loudness", "mode",
                    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                    "time_signature"]


# file name -> (rows, columns every loader needs): what the published files hold, so a truncated copy is noticed.
DATA_FILES = {
    "WineQT.csv": (1143, ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
                          "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
                          "quality", "Id"]),
    "HousingData.csv": (506, ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B",
                              "LSTAT", "MEDV"]),
    "diabetes.csv": (768, ["Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
                           "DiabetesPedigreeFunction", "Age", "Outcome"]),
    "advertisement.csv": (1000, ["age", "gender", "income", "education", "married", "children", "city", "occupation",
                                 "purchase_amount", "most bought item", "labels"]),
    "spotify.csv": (114000, [*SPOTIFY_FEATURES, "track_id", "track_genre"]),
}


def _read_data_file(file_name, **read_options):
    """Read one of DATA_FILES, checking it has the published rows and columns."""
    path = DATA_DIR / file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make data` to fetch and verify the data sets "
                                "(see data/README.md).")
    frame = pd.read_csv(path, **read_options)
    n_rows, columns = DATA_FILES[file_name]
    missing = [column for column in columns if column not in frame.columns]
    if missing or len(frame) != n_rows:
        found = f"lacks columns {missing}" if missing else f"has {len(frame)} rows instead of {n_rows}"
        raise ValueError(f"{path} {found}: it is truncated or not the published file. Fix: run "
                         "`python data/fetch.py --force` to fetch a verified copy.")
    return frame


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


def train_val_test_split(*arrays, fractions=(0.8, 0.1, 0.1), seed=0, stratify=None, test_seed=0):
    """Split every array the same way into train/validation/test parts; returns [(train, val, test), ...].

    Train and validation get round(n·fraction) rows, test the remainder (WineQT 1143 → 914/114/115,
    Spotify 114 000 → 91 200/11 400/11 400). `stratify` keeps class proportions in every part.
    The test part depends on `test_seed` only, and `seed` partitions the other rows into training and validation:
    with the default test_seed=0 every seed shares one test part, so that a selection made on any seed's training
    and validation rows never sees a test row, and models compared over seeds meet the same test rows.
    """
    from sklearn.model_selection import train_test_split
    n_rows = len(arrays[0])
    n_val = int(round(n_rows * fractions[1]))
    n_test = n_rows - int(round(n_rows * fractions[0])) - n_val
    first = train_test_split(*arrays, np.arange(n_rows), test_size=n_test, random_state=test_seed,
                             stratify=stratify)
    rest, test = first[0::2], first[1::2]
    rest_stratify = None if stratify is None else np.asarray(stratify)[rest[-1]]
    second = train_test_split(*rest[:-1], test_size=n_val, random_state=seed, stratify=rest_stratify)
    return [(second[2 * i], second[2 * i + 1], test[i]) for i in range(len(arrays))]


@dataclass
class Split:
    """Train/validation/test arrays of one data set, transformed with statistics of the training part only.

    `transformer` is the fitted preprocessing (scaler or column transformer); `ids` the row identifiers per part
    and `raw` the untransformed rows per part, where a data set has them; `label_names` names the columns of a
    multi-label target; `target_mean` and `target_std` undo a standardised regression target (`to_units`)."""

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    feature_names: list
    transformer: object = None
    ids: dict | None = None
    raw: dict | None = None
    label_names: list | None = None
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def fit_args(self):
        """(X_train, y_train, X_val, y_val): the arguments of MLP.fit with validation."""
        return self.X_train, self.y_train, self.X_val, self.y_val

    @property
    def shapes(self):
        return {part: getattr(self, f"X_{part}").shape for part in ("train", "val", "test")}

    @property
    def target_units(self):
        """(mean, std) that undo the standardised regression target: LogTarget's target_mean and target_std."""
        return self.target_mean, self.target_std

    def to_units(self, values):
        """A (standardised) regression target or prediction back in the target's own units."""
        return np.asarray(values) * self.target_std + self.target_mean


def standardised_split(features, target, seed=0, stratify=False, ids=None):
    """80/10/10 split of a feature DataFrame and target; features standardised on the training part. Row `ids`,
    if given, are split the same way into `split.ids` ({'train': ..., 'val': ..., 'test': ...})."""
    from sklearn.preprocessing import StandardScaler
    target = np.asarray(target)
    extra = [] if ids is None else [np.asarray(ids)]
    (X_train, X_val, X_test), (y_train, y_val, y_test), *id_parts = train_val_test_split(
        features.to_numpy(dtype=np.float64), target, *extra, seed=seed, stratify=target if stratify else None)
    scaler = StandardScaler().fit(X_train)
    return Split(scaler.transform(X_train), scaler.transform(X_val), scaler.transform(X_test),
                 y_train, y_val, y_test, list(features.columns), scaler,
                 ids=dict(zip(("train", "val", "test"), id_parts[0])) if id_parts else None)


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
    return Split(*(transformer.transform(part) for part in (X_train, X_val, X_test)), y_train, y_val, y_test,
                 continuous + list(binary_columns), transformer, raw={"train": X_train, "val": X_val, "test": X_test})


def housing_split(seed=0):
    """HousingData: impute (median; CHAS by its mode) and standardise on train; the target MEDV ($1000s) is
    standardised too (`split.to_units` converts back) so that one learning rate suits every grid point."""
    housing = load_housing()
    split = _impute_and_standardise(housing.drop(columns=["MEDV"]), housing["MEDV"], seed, stratify=False,
                                    binary_columns=("CHAS",))
    mean, std = split.y_train.mean(), split.y_train.std()
    return replace(split, y_train=(split.y_train - mean) / std, y_val=(split.y_val - mean) / std,
                   y_test=(split.y_test - mean) / std, target_mean=mean, target_std=std)


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
    return Split(*(encoder.transform(part) for part in (X_train, X_val, X_test)), Y_train, Y_val, Y_test,
                 list(encoder.get_feature_names_out()), encoder, label_names=list(binarizer.classes_))


# ----------------------------------------------------------------------------------------------------------------
# 4. Input checks and parameter rules
#    Arrays are checked where they enter (fit, predict, transform); constructor parameters are stored as given, as
#    scikit-learn requires, and checked in fit against each class's `_parameter_rules` table built from the small
#    rules below (each rule is a test and the phrase an error message uses).
# ----------------------------------------------------------------------------------------------------------------
class NonNumericInputError(TypeError, ValueError):
    """Input that cannot be read as numbers: a ValueError like every bad input here, and a TypeError, the type
    scikit-learn's estimator checks expect for it."""


def check_array(values, name="X", ndim=2):
    """Return `values` as a finite float64 array of the given ndim, or raise a ValueError that says what is wrong."""
    if hasattr(values, "toarray") or hasattr(values, "tocsr"):
        raise ValueError(f"{name} is a sparse matrix, which is not supported: pass a dense array ({name}.toarray()).")
    try:
        array = np.asarray(values)
        if array.dtype.kind == "c":
            raise ValueError(f"Complex data not supported in {name}: pass real values (e.g. the magnitude, or the "
                             "real and imaginary parts as separate columns).")
        array = array.astype(np.float64)
    except TypeError as error:
        raise NonNumericInputError(f"{name} must be numeric: encode or drop non-numeric columns first ({error}).") \
            from None
    except ValueError as error:
        if "Complex data" in str(error):
            raise
        raise ValueError(f"{name} must be numeric: encode or drop non-numeric columns first ({error}).") from None
    if array.ndim != ndim:
        hint = (". Reshape your data: .reshape(-1, 1) for a single feature, .reshape(1, -1) for a single sample"
                if ndim == 2 and array.ndim == 1 else "")
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {array.shape}{hint}.")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has 0 sample(s) (shape={array.shape}) while a minimum of 1 is required.")
    if array.size == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required.")
    if np.isnan(array).any():
        raise ValueError(f"Input {name} contains NaN: impute or drop the missing values first.")
    if not np.isfinite(array).all():
        raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64'): drop or clip "
                         "those values first.")
    return array


def _n_rows(values):
    return len(values) if hasattr(values, "__len__") else np.asarray(values).shape[0]


def _n_dims(values):
    """Dimensions of an array-like, without numpy's array-function dispatch (some array-likes refuse it)."""
    return values.ndim if hasattr(values, "ndim") else np.asarray(values).ndim


def check_same_length(first, second, names=("X", "y")):
    n_first, n_second = _n_rows(first), _n_rows(second)
    if n_first != n_second:
        raise ValueError(f"{names[0]} and {names[1]} have different numbers of rows: {n_first} vs {n_second}.")


def check_n_features(estimator, X):
    """X must have the number of columns the estimator was fitted with."""
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input.")


def _feature_names(X):
    """Column names of a DataFrame-like X when they are all strings, else None (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    kinds = sorted({type(name).__name__ for name in names})
    if all(isinstance(name, str) for name in names):
        return names
    if any(isinstance(name, str) for name in names):
        raise TypeError(f"Feature names are only supported if all input features have string names, but your input "
                        f"has {kinds} as feature name / column name types. Convert them all to strings, e.g. "
                        "X.columns = X.columns.astype(str).")
    return None


def _without_names(X):
    """A DataFrame's values (other inputs as they are), for a model whose names are checked by its owner."""
    return X.to_numpy() if hasattr(X, "columns") else X


def check_feature_names(estimator, X, reset):
    """fit (reset=True) keeps a DataFrame's column names in `feature_names_in_`; later calls compare them as
    scikit-learn does: other names or another order is a ValueError, names present on one side only a warning."""
    names = _feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted, estimator_name = getattr(estimator, "feature_names_in_", None), type(estimator).__name__
    if fitted is None and names is None:
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {estimator_name} was fitted with feature names",
                      UserWarning, stacklevel=3)
    elif fitted is None:
        warnings.warn(f"X has feature names, but {estimator_name} was fitted without feature names", UserWarning,
                      stacklevel=3)
    elif len(names) != len(fitted) or np.any(names != fitted):
        unseen = [name for name in names if name not in set(fitted)]
        missing = [name for name in fitted if name not in set(names)]
        message = "The feature names should match those that were passed during fit.\n"
        if unseen:
            message += "Feature names unseen at fit time:\n" + "".join(f"- {name}\n" for name in unseen)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + "".join(f"- {name}\n" for name in missing)
        if not unseen and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def integer(low, high=None):
    """Rule: an int in [low, high]."""
    phrase = f"an integer ≥ {low}" if high is None else f"an integer in [{low}, {high}]"
    return (lambda value: _is_integer(value) and value >= low and (high is None or value <= high)), phrase


def real(low, high=None, exclusive=False):
    """Rule: a finite number in [low, high] (in (low, high) when `exclusive`)."""
    if high is None:
        phrase = f"a finite number {'>' if exclusive else '≥'} {low}"
        return (lambda value: _is_real(value) and (value > low if exclusive else value >= low)), phrase
    phrase = f"a number in {'(' if exclusive else '['}{low}, {high}{')' if exclusive else ']'}"
    return (lambda value: _is_real(value) and (low < value < high if exclusive else low <= value <= high)), phrase


def one_of(*choices):
    """Rule: one of the given values (names, usually)."""
    return (lambda value: isinstance(value, Hashable) and value in choices,
            "one of " + ", ".join(repr(choice) for choice in choices))


def or_none(rule):
    accepts, phrase = rule
    return (lambda value: value is None or accepts(value)), f"{phrase} or None"


BOOLEAN = (lambda value: isinstance(value, (bool, np.bool_)), "True or False")


def layer_widths():
    """Rule: hidden layer widths, as a list/tuple of positive ints, or one int for a single layer."""
    def accepts(value):
        if _is_integer(value):
            return value >= 1
        return (isinstance(value, (list, tuple, np.ndarray))
                and all(_is_integer(width) and width >= 1 for width in value))
    return accepts, "a list of positive integers (one per hidden layer) or one positive integer"


def names_or_list(choices):
    """Rule: one name from `choices`, or a list of such names."""
    def accepts(value):
        values = [value] if isinstance(value, str) else value
        return isinstance(values, (list, tuple)) and all(isinstance(name, str) and name in choices
                                                        for name in values)
    return accepts, "one of " + ", ".join(map(repr, choices)) + " (or a list of them, one per hidden layer)"


def check_fitted(estimator, attribute, fit_call="fit(X, y)"):
    """Raise scikit-learn's NotFittedError (a ValueError and an AttributeError) unless `attribute` was set by fit."""
    if getattr(estimator, attribute, None) is None:
        from sklearn.exceptions import NotFittedError
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call {fit_call} first.")


def check_parameters(estimator):
    """Check every constructor parameter against the class's `_parameter_rules`; the error names the parameter,
    what it must be and what it got."""
    for name, (accepts, phrase) in estimator._parameter_rules.items():
        value = getattr(estimator, name)
        if not accepts(value):
            raise ValueError(f"{type(estimator).__name__}: {name} must be {phrase}; got {value!r}.")


# ----------------------------------------------------------------------------------------------------------------
# 5. Activations, outputs and losses
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
OUTPUT_ACTIVATIONS = {"softmax": softmax, "sigmoid": sigmoid, "linear": linear}

def probability_floor(probabilities):
    """The machine epsilon of the probabilities' dtype: they are clipped to [ε, 1 − ε] before a log, so log(0) is
    never taken (and 1 − ε still differs from 1 in float32)."""
    return np.finfo(probabilities.dtype).eps


def cross_entropy(targets, probabilities):
    """L = −(1/n) Σ_i Σ_k y_ik log p_ik   (targets one-hot, p from softmax)."""
    return -np.sum(targets * np.log(np.clip(probabilities, probability_floor(probabilities), 1.0))) / len(probabilities)


def binary_cross_entropy(targets, probabilities):
    """L = −(1/n) Σ_i Σ_k [y_ik log p_ik + (1 − y_ik) log(1 − p_ik)]   (one sigmoid per label)."""
    floor = probability_floor(probabilities)
    clipped = np.clip(probabilities, floor, 1.0 - floor)
    return -np.sum(targets * np.log(clipped) + (1.0 - targets) * np.log1p(-clipped)) / len(probabilities)


def half_mean_squared_error(targets, predictions):
    """L = (1/2n) Σ_i ‖p_i − y_i‖²: half the mean squared error, as scikit-learn's, so that ∂L/∂p = (p − y)/n."""
    return np.sum((predictions - targets) ** 2) / (2.0 * len(predictions))


# "mse" names the squared-error loss as the report does; its value is half_mean_squared_error.
LOSSES = {"cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy,
          "mse": half_mean_squared_error}

# Losses each output activation can be trained with. The first is the task's natural loss.
LOSSES_FOR_OUTPUT = {"softmax": ("cross_entropy", "mse"),
                     "sigmoid": ("binary_cross_entropy", "mse"),
                     "linear": ("mse",)}

# For these pairs ∂L/∂z simplifies to (p − y)/n; the others chain ∂L/∂p through the output's Jacobian.
MATCHED_PAIRS = {("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("linear", "mse")}


def sigmoid_output_backward(outputs, grad):
    """∂L/∂z = ∂L/∂p · p (1 − p)."""
    return grad * outputs * (1.0 - outputs)


def softmax_output_backward(outputs, grad):
    """∂L/∂z_k = p_k (∂L/∂p_k − Σ_j p_j ∂L/∂p_j)   (softmax Jacobian applied to the gradient)."""
    return outputs * (grad - np.sum(grad * outputs, axis=1, keepdims=True))


OUTPUT_BACKWARD = {"sigmoid": sigmoid_output_backward, "softmax": softmax_output_backward,
                   "linear": lambda outputs, grad: grad}


def output_delta(output, loss, targets, outputs):
    """δ_L = ∂L/∂z at the output layer, for the mean loss over the n rows of the batch."""
    residual = (outputs - targets) / len(outputs)
    if (output, loss) in MATCHED_PAIRS:
        return residual
    # Only mse is ever unmatched (see LOSSES_FOR_OUTPUT), and (p − y)/n is its ∂L/∂p.
    return OUTPUT_BACKWARD[output](outputs, residual)


# ----------------------------------------------------------------------------------------------------------------
# 6. Optimizers. The MLP keeps all its parameters in one flat vector (weights and biases are views into it), so
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
        self.learning_rate = learning_rate
        self.momentum = momentum
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
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.mean = None
        self.square = None
        self.steps = 0

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
# Learning-rate schedules: the factor on the learning rate in epoch e of E (1-based).
LR_SCHEDULES = {
    "constant": lambda epoch, epochs: 1.0,
    "cosine": lambda epoch, epochs: 0.5 * (1 + np.cos(np.pi * (epoch - 1) / epochs)),      # ½(1 + cos π(e−1)/E)
    "step": lambda epoch, epochs: 0.5 ** ((3 * (epoch - 1)) // epochs),                   # halved each third
}


class Optimizer(NamedTuple):
    update_rule: type                 # built with the learning rate
    rows_per_step: Callable           # (batch_size, n_rows) -> rows in one update


OPTIMIZERS = {
    "sgd": Optimizer(GradientDescent, lambda batch_size, n_rows: 1),
    "batch_gd": Optimizer(GradientDescent, lambda batch_size, n_rows: n_rows),
    "mini_batch_gd": Optimizer(GradientDescent, lambda batch_size, n_rows: batch_size),
    "momentum": Optimizer(Momentum, lambda batch_size, n_rows: batch_size),
    "adam": Optimizer(Adam, lambda batch_size, n_rows: batch_size),
}


# ----------------------------------------------------------------------------------------------------------------
# 7. Metrics: the scores models report, and the fuller evaluation the notebooks print.
# ----------------------------------------------------------------------------------------------------------------
TASKS = ("classification", "multilabel", "regression")
# The score each task's model optimises for selection and returns from `score`. Multi-label models use Hamming
# accuracy (the fraction of single labels right): with 8 labels an exact match of all of them is rare, so
# exact-match accuracy is near zero for every model and cannot rank them; `evaluate` reports both.
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


def evaluate(task, y_true, y_pred):
    """The report's metrics for predictions of a classification, multi-label or regression task. F1, precision and
    recall are macro averages (every class or label counts the same) unless their name says otherwise; `f1_weighted`
    weights classes by their support, as the original report's F1 does."""
    from sklearn import metrics
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: evaluate takes one of {', '.join(map(repr, TASKS))}.")
    if task == "classification":
        averaged = metrics.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        return {"accuracy": metrics.accuracy_score(y_true, y_pred),
                **dict(zip(("precision", "recall", "f1"), averaged[:3])),
                "f1_weighted": metrics.f1_score(y_true, y_pred, average="weighted", zero_division=0)}
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


def classification_table(y_true, y_pred, target_names=None):
    """scikit-learn's classification report as records (class, precision, recall, f1-score, support): one per class
    or label, then the averages; support is an integer count. Accuracy is not a row here (it has no support)."""
    from sklearn.metrics import classification_report
    report = classification_report(y_true, y_pred, target_names=target_names, zero_division=0, output_dict=True)
    return [{"class": str(name), **{key: value for key, value in scores.items() if key != "support"},
             "support": int(scores["support"])}
            for name, scores in report.items() if name != "accuracy"]


def paired_interval(differences, over, variance_factor=None, confidence=0.95):
    """The mean of paired differences with its t-interval: {'difference', 'low', 'high', 'over'} (`over` says what
    was paired, e.g. '5 seeds'). `variance_factor` replaces 1/n (Nadeau & Bengio's correction for folds)."""
    from scipy import stats
    differences = np.asarray(differences, dtype=float)
    n = len(differences)
    mean = float(differences.mean())
    factor = 1.0 / n if variance_factor is None else variance_factor
    if n < 2:
        return {"difference": mean, "low": -np.inf, "high": np.inf, "over": over}
    margin = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.sqrt(factor * differences.var(ddof=1)))
    return {"difference": mean, "low": mean - margin, "high": mean + margin, "over": over}


def paired_test_comparison(per_seed, model_a, model_b, y_test, task="classification", rows=None):
    """Model a minus model b on the same test rows: accuracy (classification) or R² (regression, predictions in the
    target's units), averaged over the seeds of `per_seed` (compare_over_seeds' rows with test_predictions), with
    a 95 % t-interval over the test rows of the seed-averaged per-row differences. For R², a row's difference is
    its squared-error difference over the test rows' variance, so that their mean is the R² difference. `rows`
    (a boolean mask) restricts the comparison to some test rows."""
    y_test = np.asarray(y_test)
    rows = np.ones(len(y_test), dtype=bool) if rows is None else np.asarray(rows)

    def per_row(model):
        rows = per_seed[per_seed.model == model]
        if rows.empty:
            raise ValueError(f"no test predictions for model {model!r}: it is not among {sorted(set(per_seed.model))}.")
        predictions = np.array(rows.test_predictions.tolist())
        if task == "regression":
            return -np.mean((predictions - y_test) ** 2, axis=0) / np.var(y_test)
        return np.mean(predictions == y_test, axis=0)
    seeds = int((per_seed.model == model_a).sum())
    over = f"{int(rows.sum())} test rows" + (f", {seeds} seeds" if seeds > 1 else "")
    return paired_interval((per_row(model_a) - per_row(model_b))[rows], over)


def fold_comparison(scores_a, scores_b, n_train, n_test):
    """Config a minus config b over the same cross-validation folds, with Nadeau & Bengio's corrected resampled
    t-interval: the folds' training sets overlap, so the variance of the mean difference is (1/k + n_test/n_train)
    times the folds' variance, not 1/k times it."""
    differences = np.asarray(scores_a) - np.asarray(scores_b)
    return paired_interval(differences, f"{len(differences)} folds, corrected", 1 / len(differences) + n_test / n_train)


# ----------------------------------------------------------------------------------------------------------------
# 8. MLP: one class for single-label classification, multi-label classification and regression.
#    The tasks differ only in how targets are encoded, the output activation and its natural loss (see _set_up_task).
# ----------------------------------------------------------------------------------------------------------------
# |θ| beyond this counts as divergence: squares overflow float64 near 1e154, and no trained network comes close.
# In float32 (which overflows near 3e38) the limit is √max ≈ 1.8e19, for the same reason.
DIVERGENCE_LIMIT = 1e100
DTYPES = ("float64", "float32")


def divergence_limit(dtype):
    return min(DIVERGENCE_LIMIT, float(np.sqrt(np.finfo(dtype).max)))


def _flattened_column(y, name):
    """y as an array, a column vector (n, 1) flattened with scikit-learn's DataConversionWarning."""
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning
        warnings.warn(f"A column-vector {name} was passed when a 1d array was expected; using {name}.ravel().",
                      DataConversionWarning, stacklevel=4)
        values = values.ravel()
    return values


def class_labels(y, name="y"):
    """y as a 1-D array of class labels, or a ValueError naming what is wrong (None, NaN, continuous, mixed)."""
    if y is None:
        raise ValueError(f"a classifier requires {name} to be passed, but the target {name} is None.")
    raw = list(y) if isinstance(y, (list, tuple)) else None
    labels = _flattened_column(y, name)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional class labels for task='classification', got shape "
                         f"{labels.shape}; use task='multilabel' for a 0/1 label matrix.")
    values = raw if raw is not None else labels if labels.dtype == object else []
    if len({isinstance(value, str) for value in values if not pd.isna(value)}) > 1:
        raise ValueError(f"Mix of label input types (string and number) in {name}: use one type for all labels.")
    if pd.isna(labels).any():
        raise ValueError(f"Input {name} contains NaN (missing labels): drop those rows or fill in their labels.")
    if labels.dtype.kind in "fc":
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise ValueError(f"Unknown label type: {name} is a continuous target (non-integer values); for a numeric "
                             "target use task='regression' (MLPRegressor).")
    return labels


class MLP(BaseEstimator):
    """Multilayer perceptron trained by backpropagation, with scikit-learn's estimator interface.

    task='classification' (any label values; two classes use one sigmoid unit, more use softmax),
    'multilabel' (y is a 0/1 matrix, one sigmoid per label, decision `threshold`) or 'regression' (linear output).
    `loss=None` takes the task's natural loss; 'mse' can be forced on any output. `optimizer` is one of OPTIMIZERS:
    'sgd' steps on one row, 'batch_gd' on the whole set, the others on `batch_size` rows. `patience` stops training
    when the validation loss has not improved (by more than `tol`) for that many epochs and restores the weights of
    the last epoch that improved it. `alpha` is an L2
    penalty (alpha/2n)‖W‖² per batch, as scikit-learn's. After fit, weights are (n_in, n_out) arrays in `weights_`,
    biases in `biases_`. `seed` makes fit repeatable bit for bit. `score` is accuracy, Hamming accuracy
    (multi-label, see MAIN_METRIC) or R². `dtype='float32'` trains and predicts in single precision (as
    scikit-learn's MLP does for float32 input): about twice as fast on large data, with losses that differ from
    float64 in the sixth digit. A DataFrame's column names are kept in `feature_names_in_` and checked later.
    Initialisation: weights and biases ~ U(±√(6 / (fan_in + fan_out))) (Glorot, as scikit-learn; see _init_params).
    Levers for tabular data: `lr_schedule` 'cosine' or 'step' decays the learning rate over the epochs (see
    LR_SCHEDULES); `class_weight='balanced'` weights each training row by n / (classes · rows of its class), as
    scikit-learn (or a dict {class: weight}); `label_smoothing` ε trains a softmax on (1 − ε)·one-hot + ε/classes.
    """

    _parameter_rules = {
        "hidden_layers": layer_widths(),
        "activation": names_or_list(tuple(ACTIVATIONS)),
        "task": one_of(*TASKS),
        "loss": or_none(one_of(*LOSSES)),
        "optimizer": one_of(*OPTIMIZERS),
        "learning_rate": real(0, exclusive=True),
        "batch_size": integer(1),
        "epochs": integer(1),
        "patience": or_none(integer(1)),
        "tol": real(0),
        "alpha": real(0),
        "threshold": real(0, 1, exclusive=True),
        "shuffle": BOOLEAN,
        "warm_start": BOOLEAN,
        "seed": or_none(integer(0)),
        "verbose": BOOLEAN,
        "dtype": one_of(*DTYPES),
        "lr_schedule": one_of(*LR_SCHEDULES),
        "class_weight": (lambda value: value is None or value == "balanced" or isinstance(value, dict),
                         "None, 'balanced' or a dict {class label: weight}"),
        "label_smoothing": real(0, 1),
    }

    def __init__(self, hidden_layers=(64,), activation="relu", task="classification", loss=None,
                 optimizer="mini_batch_gd", learning_rate=0.01, batch_size=32, epochs=100, patience=None, tol=0.0,
                 alpha=0.0, threshold=0.5, shuffle=True, warm_start=False, seed=0, verbose=False, dtype="float64",
                 lr_schedule="constant", class_weight=None, label_smoothing=0.0):
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.task = task
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.tol = tol
        self.alpha = alpha
        self.threshold = threshold
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.seed = seed
        self.verbose = verbose
        self.dtype = dtype
        self.lr_schedule = lr_schedule
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags
        tags = super().__sklearn_tags__()
        if self.task == "regression":
            tags.estimator_type, tags.regressor_tags = "regressor", RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_label=self.task == "multilabel")
        tags.target_tags.required = True
        tags.target_tags.single_output = self.task != "multilabel"
        tags.target_tags.multi_output = self.task != "classification"
        return tags

    def _architecture(self):
        """(hidden layer widths, their activation names) as the parameters describe them."""
        widths = [self.hidden_layers] if _is_integer(self.hidden_layers) else list(self.hidden_layers)
        names = [self.activation] * len(widths) if isinstance(self.activation, str) else list(self.activation)
        if len(names) != len(widths):
            raise ValueError(f"{type(self).__name__}: give one activation, or one per hidden layer ({len(widths)}); "
                             f"got {len(names)}.")
        return [int(width) for width in widths], names

    # --- targets and task set-up ------------------------------------------------------------------------------
    def _set_up_task(self, y):
        """Learn the target encoding from y; choose output activation and loss. Returns the encoded targets."""
        self.n_outputs_ = None       # set from y below; _encode_targets compares later targets with it
        if self.task == "classification":
            classes = np.unique(class_labels(y))
            if len(classes) < 2:
                raise ValueError(f"classification needs at least two classes, but y has only one class: "
                                 f"{classes.tolist()}.")
            if self.warm_start and hasattr(self, "classes_") and not np.array_equal(classes, self.classes_):
                raise ValueError(f"warm_start: y has classes {classes.tolist()} but the model was fitted with "
                                 f"{self.classes_.tolist()}; refit with warm_start=False.")
            self.classes_ = classes
            self.output_ = "sigmoid" if len(self.classes_) == 2 else "softmax"
        else:
            self.output_ = "sigmoid" if self.task == "multilabel" else "linear"
            self._flat_target = self.task == "regression" and _n_dims(y) == 1
        valid_losses = LOSSES_FOR_OUTPUT[self.output_]
        if self.loss is None:
            self.loss_ = valid_losses[0]
        elif self.output_ == "sigmoid" and self.task == "classification" and self.loss == "cross_entropy":
            self.loss_ = "binary_cross_entropy"   # two-class cross-entropy on one sigmoid unit is the same function
        elif self.loss not in valid_losses:
            raise ValueError(f"{type(self).__name__}: loss {self.loss!r} does not fit a {self.output_} output "
                             f"(task {self.task!r}); use one of {', '.join(map(repr, valid_losses))}.")
        else:
            self.loss_ = self.loss
        # The functions each layer applies, looked up once here rather than on every step.
        self._layer_activations = [*(ACTIVATIONS[name] for name in self.hidden_activations_),
                                   OUTPUT_ACTIVATIONS[self.output_]]
        self._hidden_backward = [ACTIVATION_BACKWARD[name] for name in self.hidden_activations_]
        targets = self._encode_targets(y)
        self.n_outputs_ = targets.shape[1]
        return targets

    def _encode_targets(self, y, name="y"):
        """Targets as a float (n, n_outputs) matrix matching the network's output."""
        if self.task == "classification":
            labels = class_labels(y, name)
            unknown = np.setdiff1d(labels, self.classes_)
            if len(unknown):
                raise ValueError(f"{name} has labels not seen in fit: {unknown.tolist()[:10]}.")
            indices = np.searchsorted(self.classes_, labels)
            if self.output_ == "sigmoid":
                return indices.reshape(-1, 1).astype(np.float64)
            return np.eye(len(self.classes_))[indices]
        if y is None:
            raise ValueError(f"{type(self).__name__} requires {name} to be passed, but the target {name} is None.")
        if self.task == "multilabel":
            targets = check_array(y, f"{name} (multi-label 0/1 matrix)", ndim=max(_n_dims(y), 1))
            if (targets != np.round(targets)).any():
                raise ValueError(f"Unknown label type: continuous values in {name}; task='multilabel' needs a 0/1 "
                                 "matrix (one column per label).")
            if not np.isin(targets, (0.0, 1.0)).all():
                raise ValueError(f"Only binary classification is supported per label: {name} for task='multilabel' "
                                 f"must be a 0/1 matrix (one column per label); got values "
                                 f"{np.unique(targets).tolist()[:10]}.")
            if targets.ndim != 2:
                raise ValueError(f"{name} for task='multilabel' must be a 2-dimensional 0/1 matrix (one column per "
                                 f"label), got shape {targets.shape}.")
        else:
            if _n_dims(y) not in (1, 2):
                raise ValueError(f"{name} must be 1- or 2-dimensional for regression, got {_n_dims(y)} dimensions.")
            targets = check_array(y, name, ndim=_n_dims(y))
            targets = targets.reshape(len(targets), -1)
        if self.n_outputs_ is not None and targets.shape[1] != self.n_outputs_:
            kind = "label" if self.task == "multilabel" else "output"
            raise ValueError(f"{name} has {targets.shape[1]} {kind} column(s), but the model was fitted with "
                             f"{self.n_outputs_}.")
        return targets

    # --- parameters -------------------------------------------------------------------------------------------
    def _layer_shapes(self):
        sizes = [self.n_features_in_, *self.hidden_widths_, self.n_outputs_]
        return list(zip(sizes[:-1], sizes[1:]))

    def _init_params(self, rng):
        """Glorot-uniform weights and biases, U(±√(6 / (fan_in + fan_out))): scikit-learn's scheme, without its
        narrower range for sigmoid layers (the wider one trained better in benchmarks/bench.py's quality rows)."""
        self.weights_, self.biases_ = [], []
        for n_in, n_out in self._layer_shapes():
            limit = np.sqrt(6.0 / (n_in + n_out))
            self.weights_.append(rng.uniform(-limit, limit, size=(n_in, n_out)))
            self.biases_.append(rng.uniform(-limit, limit, size=n_out))

    def _check_param_shapes(self):
        """Weights and biases (possibly assigned by the user) must fit the layer sizes."""
        expected = self._layer_shapes()
        if len(self.weights_) != len(expected) or len(self.biases_) != len(expected):
            raise ValueError(f"weights_/biases_ have {len(self.weights_)}/{len(self.biases_)} layers, the network "
                             f"has {len(expected)}.")
        for layer, ((n_in, n_out), weights, biases) in enumerate(zip(expected, self.weights_, self.biases_), 1):
            if np.shape(weights) != (n_in, n_out) or np.shape(biases) != (n_out,):
                raise ValueError(f"layer {layer} needs weights of shape {(n_in, n_out)} and biases of shape "
                                 f"{(n_out,)}, got {np.shape(weights)} and {np.shape(biases)}.")

    def _params(self):
        return [*self.weights_, *self.biases_]

    def _pack_params(self):
        """Copy weights and biases into one flat vector and make them views into it; return the vector."""
        params = self._params()
        flat = np.empty(sum(np.size(param) for param in params), dtype=self.dtype)
        views = self._views_into(flat)
        for view, param in zip(views, params):
            view[...] = param
        n_layers = len(self.weights_)
        self.weights_, self.biases_ = views[:n_layers], views[n_layers:]
        return flat

    def _views_into(self, flat):
        """Arrays shaped like _params() that share memory with the flat vector `flat`."""
        views, offset = [], 0
        for param in self._params():
            views.append(flat[offset:offset + np.size(param)].reshape(np.shape(param)))
            offset += np.size(param)
        return views

    # --- forward pass and backpropagation ---------------------------------------------------------------------
    def _layer(self, layer, inputs):
        """aˡ = g(aˡ⁻¹ Wˡ + bˡ), with the output activation on the last layer."""
        return self._layer_activations[layer](inputs @ self.weights_[layer] + self.biases_[layer])

    def _forward(self, X):
        """Activations of every layer, input first: [X, a¹, …, aᴸ]."""
        activations = [X]
        for weights, biases, activation in zip(self.weights_, self.biases_, self._layer_activations):
            activations.append(activation(activations[-1] @ weights + biases))
        return activations

    def _backward(self, activations, targets, grads, row_weights=None):
        """Write the batch-loss gradients into `grads` (C-contiguous arrays shaped like _params()) and return it:
        ∂L/∂Wˡ = aˡ⁻¹ᵀ δˡ,  ∂L/∂bˡ = Σ_rows δˡ,  δˡ⁻¹ = (δˡ Wˡᵀ) ∘ g'(zˡ⁻¹); with `row_weights` w the loss is
        (1/n) Σ wᵢ ℓᵢ, so each row's output error is scaled by its weight."""
        n_layers = len(self.weights_)
        weight_grads, bias_grads = grads[:n_layers], grads[n_layers:]
        delta = output_delta(self.output_, self.loss_, targets, activations[-1])
        if row_weights is not None:
            delta *= row_weights[:, None]
        for layer in range(n_layers - 1, -1, -1):
            np.matmul(activations[layer].T, delta, out=weight_grads[layer])
            if self.alpha:
                weight_grads[layer] += (self.alpha / len(targets)) * self.weights_[layer]
            np.add.reduce(delta, axis=0, out=bias_grads[layer])
            if layer:
                delta = delta @ self.weights_[layer].T
                self._hidden_backward[layer - 1](activations[layer], delta)
        return grads

    def _outputs(self, X):
        return self._forward(self._as_param_dtype(X))[-1]

    def _as_param_dtype(self, X):
        """X in the dtype of the weights (float32 models compute in float32 throughout)."""
        return X.astype(self.weights_[0].dtype, copy=False)

    def _objective(self, X, targets, row_weights=None):
        """The loss fit minimises on a batch: data loss (weighted by rows, with class weights) + (alpha/2n) Σ‖W‖²."""
        penalty = self.alpha / (2.0 * len(X)) * sum(np.sum(weights ** 2) for weights in self.weights_)
        outputs = self._outputs(X)
        if row_weights is None:
            return LOSSES[self.loss_](targets, outputs) + penalty
        losses = [LOSSES[self.loss_](targets[row:row + 1], outputs[row:row + 1]) for row in range(len(X))]
        return float(np.mean(row_weights * np.array(losses))) + penalty

    # --- training ---------------------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None):
        """Train on (X, y); per-epoch train/validation loss and main metric go to `history_`. Returns self."""
        targets, validation = self._prepare_fit(X, y, X_val, y_val)
        rng = np.random.default_rng(self.seed)
        if self.warm_start and getattr(self, "weights_", None) is not None:
            self._check_param_shapes()
        else:
            self._init_params(rng)
        update_rule, rows_per_step = OPTIMIZERS[self.optimizer]
        batch_size = max(1, min(rows_per_step(self.batch_size, len(self._X_fit)), len(self._X_fit)))
        self._train(self._X_fit, targets, validation, update_rule(self.learning_rate), batch_size, rng)
        del self._X_fit, self._row_weights
        return self

    def _prepare_fit(self, X, y, X_val, y_val):
        """Check parameters and data; set up the task. Returns (encoded targets, validation set or None)."""
        check_parameters(self)
        self.hidden_widths_, self.hidden_activations_ = self._architecture()
        check_feature_names(self, X, reset=True)
        X = check_array(X, "X")
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        check_same_length(X, y)
        self.n_features_in_ = X.shape[1]
        targets = self._set_up_task(y)
        validation = self._validation_set(X_val, y_val)
        if self.patience is not None and validation is None:
            raise ValueError("patience (early stopping) watches the validation loss: pass X_val and y_val to fit.")
        self._X_fit = X.astype(self.dtype, copy=False)
        targets = targets.astype(self.dtype, copy=False)
        self._row_weights = self._balanced_row_weights(targets)
        return self._smoothed(targets), validation

    def _smoothed(self, targets):
        """(1 − ε)·one-hot + ε/classes with ε = label_smoothing (softmax outputs only)."""
        if not self.label_smoothing:
            return targets
        if self.output_ != "softmax":
            raise ValueError(f"label_smoothing smooths one-hot targets of a softmax output; this model's output is "
                             f"{self.output_!r}: use label_smoothing=0 for it.")
        return (1 - self.label_smoothing) * targets + self.label_smoothing / targets.shape[1]

    def _balanced_row_weights(self, targets):
        """Per training row, its class's weight: n / (classes · rows of its class) for class_weight='balanced',
        the dict's value for a dict (1 for a class it does not name); None without class weights."""
        if self.class_weight is None:
            return None
        if self.task != "classification":
            raise ValueError(f"class_weight weights classes; task={self.task!r} has none: use class_weight=None.")
        one_hot = targets if targets.shape[1] > 1 else np.hstack([1 - targets, targets])
        if isinstance(self.class_weight, dict):
            weights = np.array([self.class_weight.get(label, 1.0) for label in self.classes_], dtype=float)
        else:
            counts = one_hot.sum(axis=0)
            weights = len(targets) / (len(counts) * counts)
        return (one_hot @ weights).astype(targets.dtype)

    def _validation_set(self, X_val, y_val):
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("pass both X_val and y_val, or neither.")
        check_feature_names(self, X_val, reset=False)
        X_val = check_array(X_val, "X_val")
        check_same_length(X_val, y_val, ("X_val", "y_val"))
        if X_val.shape[1] != self.n_features_in_:
            raise ValueError(f"X_val has {X_val.shape[1]} features but X has {self.n_features_in_}.")
        return X_val.astype(self.dtype, copy=False), self._encode_targets(y_val, "y_val").astype(self.dtype, copy=False)

    def _train(self, X, targets, validation, optimizer, batch_size, rng):
        metric = MAIN_METRIC[self.task]
        self.history_ = {"epoch": [], "train_loss": [], f"train_{metric}": []}
        if validation is not None:
            self.history_.update({"val_loss": [], f"val_{metric}": []})
        self.diverged_ = False
        self.best_epoch_ = None
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
                optimizer.learning_rate = self.learning_rate * LR_SCHEDULES[self.lr_schedule](epoch, self.epochs)
                scores = self._scores(*self._run_epoch(X, targets, params, grads, optimizer, batch_size, rng),
                                      "train")
                if validation is not None:
                    scores.update(self._scores(validation[1], self._outputs(validation[0]), "val"))
                # The epoch's running loss predates its last step, so the weights themselves are checked too.
                if not (all(np.isfinite(value) for value in scores.values())
                        and np.all(np.abs(params) < divergence_limit(params.dtype))):
                    self._stop_diverged(epoch, params, best_params if best_params is not None else last_good)
                    break
                self.history_["epoch"].append(epoch)
                for key, value in scores.items():
                    self.history_[key].append(value)
                last_good = params.copy()
                if self.patience is None:
                    continue
                if scores["val_loss"] < best_loss - self.tol:
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
        row_weights = self._row_weights
        if self.shuffle and batch_size < len(X):
            order = rng.permutation(len(X))
            X, targets = X[order], targets[order]
            row_weights = None if row_weights is None else row_weights[order]
        outputs = np.empty_like(targets)
        grad_views = self._views_into(grads)
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            activations = self._forward(X[start:stop])
            outputs[start:stop] = activations[-1]
            self._backward(activations, targets[start:stop], grad_views,
                           None if row_weights is None else row_weights[start:stop])
            optimizer.step(params, grads)
        return targets, outputs

    def _stop_diverged(self, epoch, params, snapshot):
        self.diverged_ = True
        params[...] = snapshot
        warnings.warn(f"{type(self).__name__} diverged at epoch {epoch} (non-finite loss or weights, learning_rate="
                      f"{self.learning_rate}); stopped and kept the last finite weights.", RuntimeWarning,
                      stacklevel=4)

    def _scores(self, targets, outputs, prefix):
        metric = MAIN_METRIC[self.task]
        loss = float(LOSSES[self.loss_](targets, outputs))
        value = METRICS[metric](self._target_labels(targets), self._decide(outputs)) if np.isfinite(loss) else loss
        return {f"{prefix}_loss": loss, f"{prefix}_{metric}": value}

    # --- prediction -------------------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self):
        return hasattr(self, "output_") and getattr(self, "weights_", None) is not None

    def _check_fitted(self, X):
        check_fitted(self, "output_")
        check_fitted(self, "weights_")
        self._check_param_shapes()
        check_feature_names(self, X, reset=False)
        X = check_array(X, "X")
        check_n_features(self, X)
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
        if self.task == "regression" and self._flat_target:
            return decisions[:, 0]
        return decisions

    @available_if(lambda self: self.task != "regression")
    def predict_proba(self, X):
        """Class probabilities (n, n_classes), or per-label probabilities for multi-label (classification tasks
        only: a regression model has no predict_proba)."""
        outputs = self._outputs(self._check_fitted(X))
        if self.task == "classification" and self.output_ == "sigmoid":
            return np.hstack([1.0 - outputs, outputs])
        return outputs

    def score(self, X, y):
        """The task's main metric (MAIN_METRIC): accuracy, Hamming accuracy (multi-label) or R² (regression)."""
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
        fitted = self.__sklearn_is_fitted__()
        if self.dtype != "float64" or (fitted and self.weights_[0].dtype != np.float64):
            raise ValueError("check_gradients needs a float64 model (dtype='float64'): a central difference with "
                             f"eps={eps} is below float32's resolution.")
        if fitted:
            X = self._check_fitted(X)
            targets = self._encode_targets(y).astype(np.float64)
            row_weights, targets = self._balanced_row_weights(targets), self._smoothed(targets)
        else:
            targets, _ = self._prepare_fit(X, y, None, None)
            row_weights = self._row_weights
            X = self._X_fit
            del self._X_fit, self._row_weights
            self._init_params(np.random.default_rng(self.seed))
        backprop = self._backward(self._forward(X), targets, [np.empty_like(param) for param in self._params()],
                                  row_weights)
        rows = []
        for index, (param, grad) in enumerate(zip(self._params(), backprop)):
            numeric = np.zeros_like(param)
            for position in np.ndindex(param.shape):
                original = param[position]
                param[position] = original + eps
                loss_plus = self._objective(X, targets, row_weights)
                param[position] = original - eps
                loss_minus = self._objective(X, targets, row_weights)
                param[position] = original
                numeric[position] = (loss_plus - loss_minus) / (2.0 * eps)
            scale = np.linalg.norm(grad) + np.linalg.norm(numeric)
            rows.append({"layer": index % len(self.weights_) + 1,
                         "parameter": "weights" if index < len(self.weights_) else "biases",
                         "shape": "×".join(map(str, param.shape)),
                         "max_abs_diff": float(np.max(np.abs(grad - numeric))),
                         "relative_diff": float(np.linalg.norm(grad - numeric) / scale) if scale else 0.0})
        return pd.DataFrame(rows).sort_values(["layer", "parameter"], ascending=[True, False], ignore_index=True)


def _init_without(*fixed):
    """MLP's __init__ without the parameters `fixed`, which the subclass holds as class attributes (as AutoEncoder
    does). scikit-learn reads an estimator's parameters from its __init__ signature, so a fixed value must not
    appear there."""
    signature = inspect.signature(MLP.__init__)
    kept = signature.replace(parameters=[p for name, p in signature.parameters.items() if name not in fixed])

    def __init__(self, *args, **kwargs):
        arguments = kept.bind(self, *args, **kwargs)
        arguments.apply_defaults()
        for name, value in list(arguments.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = kept
    return __init__


class MLPClassifier(ClassifierMixin, MLP):
    """MLP with task='classification' (softmax, or one sigmoid unit for two classes); score is accuracy."""
    task = "classification"
    __init__ = _init_without("task")
    score = MLP.score       # MLP's accuracy (this engine's checks of y), not the mixin's


class MultiLabelMLPClassifier(ClassifierMixin, MLP):
    """MLP with task='multilabel': one sigmoid per label, binary cross-entropy, decision `threshold`. score is
    Hamming accuracy (see MAIN_METRIC), not scikit-learn's exact-match accuracy."""
    task = "multilabel"
    class_weight = None             # the class levers weigh single labels' classes; a label matrix has none
    label_smoothing = 0.0
    __init__ = _init_without("task", "class_weight", "label_smoothing")
    score = MLP.score       # Hamming accuracy, not the mixin's exact match

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label, tags.classifier_tags.multi_class = True, False
        tags.target_tags.single_output, tags.target_tags.multi_output = False, True
        return tags


class MLPRegressor(RegressorMixin, MLP):
    """MLP with task='regression': linear output and (half) mean squared error; score is R²."""
    task = "regression"
    class_weight = None             # a regression has no classes to weigh or smooth
    label_smoothing = 0.0
    __init__ = _init_without("task", "class_weight", "label_smoothing")
    score = MLP.score       # MLP's R² (this engine's checks of y, e.g. its number of columns), not the mixin's


class SeedEnsemble(ClassifierMixin, BaseEstimator):
    """`members` copies of a classifier MLP that differ only in their seed (initialisation and shuffling), fitted
    the same way; predict_proba is the average of theirs, predict its most probable class. score is accuracy."""

    _parameter_rules = {"members": integer(1)}

    def __init__(self, estimator=None, members=5):
        self.estimator = estimator
        self.members = members

    def fit(self, X, y, X_val=None, y_val=None):
        """Fit every member (with the validation set for early stopping, if given). Returns self."""
        check_parameters(self)
        if not isinstance(self.estimator, MLP) or self.estimator.task != "classification":
            raise ValueError(f"SeedEnsemble: estimator must be a classification MLP; got {self.estimator!r}.")
        base_seed = self.estimator.seed or 0
        # The ensemble keeps and checks the column names; its members see plain arrays.
        check_feature_names(self, X, reset=True)
        X, X_val = _without_names(X), _without_names(X_val)
        self.estimators_ = [clone(self.estimator).set_params(seed=base_seed + member).fit(X, y, X_val, y_val)
                            for member in range(self.members)]
        self.classes_, self.n_features_in_ = self.estimators_[0].classes_, self.estimators_[0].n_features_in_
        return self

    def predict_proba(self, X):
        check_fitted(self, "estimators_")
        check_feature_names(self, X, reset=False)
        X = _without_names(X)
        return np.mean([member.predict_proba(X) for member in self.estimators_], axis=0)

    def predict(self, X):
        winners = self.predict_proba(X).argmax(axis=1)
        return self.classes_[winners]


class PiecewiseLinearEncoder(TransformerMixin, BaseEstimator):
    """Piecewise-linear encoding of numerical features (Gorishniy et al. 2022): each feature's training quantiles
    b_0 < … < b_T cut it into T bins, and x becomes T numbers e_t = clip((x − b_{t−1}) / (b_t − b_{t−1}), 0, 1),
    the first bin unclipped below and the last above, so the network sees where in each bin a value lies. A feature
    with fewer distinct values gets fewer bins (a 0/1 column one)."""

    _parameter_rules = {"n_bins": integer(1)}

    def __init__(self, n_bins=8):
        self.n_bins = n_bins

    def fit(self, X, y=None):
        check_parameters(self)
        X = check_array(X, "X")
        levels = np.linspace(0.0, 1.0, self.n_bins + 1)
        self.edges_ = [np.unique(np.quantile(column, levels)) for column in X.T]
        self.edges_ = [edges if len(edges) > 1 else np.array([edges[0], edges[0] + 1.0]) for edges in self.edges_]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_fitted(self, "edges_")
        X = check_array(X, "X")
        check_n_features(self, X)
        return np.hstack([self._encode(column, edges) for column, edges in zip(X.T, self.edges_)])

    @staticmethod
    def _encode(column, edges):
        position = (column[:, None] - edges[None, :-1]) / np.diff(edges)[None, :]
        lower = np.where(np.arange(len(edges) - 1) == 0, -np.inf, 0.0)
        upper = np.where(np.arange(len(edges) - 1) == len(edges) - 2, np.inf, 1.0)
        return np.clip(position, lower, upper)


def quantile_transformer():
    """scikit-learn's QuantileTransformer to a normal distribution, on every training row (no subsample)."""
    from sklearn.preprocessing import QuantileTransformer
    return QuantileTransformer(n_quantiles=200, output_distribution="normal", subsample=None, random_state=0)


# The input transforms a config can ask for (config["input_transform"]): each makes a fresh transformer.
INPUT_TRANSFORMS = {"quantile": quantile_transformer, "piecewise_linear": PiecewiseLinearEncoder}


class TransformedInput(BaseEstimator):
    """An MLP on transformed inputs, as a Pipeline of `transformer` and `estimator` would be, except that
    fit(X, y, X_val, y_val) transforms the validation rows with what the transformer learnt from the training rows,
    so early stopping still works. A classifier or a regressor, as its estimator is. The levers: quantile-transformed
    inputs (each feature mapped through its training distribution to a normal one, which tames skewed features and
    outliers) and a piecewise-linear encoding (INPUT_TRANSFORMS)."""

    def __init__(self, estimator=None, transformer=None):
        self.estimator = estimator
        self.transformer = transformer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type, tags.classifier_tags, tags.regressor_tags, tags.target_tags = (
            inner.estimator_type, inner.classifier_tags, inner.regressor_tags, inner.target_tags)
        return tags

    def fit(self, X, y, X_val=None, y_val=None):
        X = check_array(X, "X")
        self.transformer_ = clone(self.transformer).fit(X)
        validation = () if X_val is None else (self.transformer_.transform(check_array(X_val, "X_val")), y_val)
        self.estimator_ = clone(self.estimator).fit(self.transformer_.transform(X), y, *validation)
        self.classes_ = getattr(self.estimator_, "classes_", None)
        self.n_features_in_ = X.shape[1]
        return self

    def _inputs(self, X):
        check_fitted(self, "estimator_")
        X = check_array(X, "X")
        check_n_features(self, X)
        return self.transformer_.transform(X)

    def predict(self, X):
        inputs = self._inputs(X)
        return self.estimator_.predict(inputs)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X):
        inputs = self._inputs(X)
        return self.estimator_.predict_proba(inputs)

    def score(self, X, y):
        inputs = self._inputs(X)
        return self.estimator_.score(inputs, y)


# Target views: the same network learning the target in another form. Each wrapper fits its estimator on the
# transformed target (the validation rows too, so early stopping still works) and maps predictions back.
def ordered_labels(y, name="y"):
    """Class labels that have an order (numbers), as float scores, or a ValueError saying why an ordinal view
    cannot use them."""
    labels = class_labels(y, name)
    if labels.dtype.kind not in "iubf":
        raise ValueError(f"Unknown label type for an ordinal view: it needs numeric class labels whose order means "
                         f"something (scores such as wine quality 3–8), got {labels.dtype} labels; use a plain "
                         "classifier for unordered classes.")
    return labels.astype(np.float64)


def ordinal_classes(X, y):
    """What an ordinal view's fit checks first: X, then y's order and its at least two classes. Returns (the sorted
    classes as y gives them, y as float scores)."""
    check_array(X, "X")             # X's problems first, as every estimator here reports them
    scores = ordered_labels(y)
    classes = np.unique(class_labels(y))
    if len(classes) < 2:
        raise ValueError(f"classification needs at least two classes, but y has only one class: {classes.tolist()}.")
    return classes, scores


class RoundedRegression(ClassifierMixin, BaseEstimator):
    """Ordered numeric classes as a regression: the regressor learns the standardised score and predict returns the
    class nearest to its prediction (rounding, clipped to the classes seen in training; ties go to the lower)."""

    def __init__(self, regressor=None):
        self.regressor = regressor

    def fit(self, X, y, X_val=None, y_val=None):
        self.classes_, scores = ordinal_classes(X, y)
        self.score_mean_, self.score_std_ = scores.mean(), scores.std()
        validation = () if X_val is None else (X_val, self._standardised(ordered_labels(y_val, "y_val")))
        self.regressor_ = clone(self.regressor).fit(X, self._standardised(scores), *validation)
        self.n_features_in_ = self.regressor_.n_features_in_
        return self

    def _standardised(self, scores):
        return (scores - self.score_mean_) / self.score_std_

    def predict(self, X):
        check_fitted(self, "regressor_")
        scores = self.regressor_.predict(X) * self.score_std_ + self.score_mean_
        distances = np.abs(scores[:, None] - self.classes_.astype(np.float64)[None, :])
        return self.classes_[distances.argmin(axis=1)]


class CumulativeTargets(ClassifierMixin, BaseEstimator):
    """Ordered classes c_1 < … < c_K as K − 1 questions "is y above c_k?" (Frank & Hall 2001), all learnt by one
    multi-label network: P(c_k) = P(y > c_{k−1}) − P(y > c_k), negative differences clipped to 0 and renormalised;
    predict is the most probable class."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, X_val=None, y_val=None):
        self.classes_, scores = ordinal_classes(X, y)
        validation = () if X_val is None else (X_val, self._above(ordered_labels(y_val, "y_val")))
        self.estimator_ = clone(self.estimator).fit(X, self._above(scores), *validation)
        self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _above(self, scores):
        """The 0/1 matrix [y > c_k] for k = 1 … K − 1."""
        return (scores[:, None] > self.classes_[:-1].astype(np.float64)[None, :]).astype(int)

    def predict_proba(self, X):
        check_fitted(self, "estimator_")
        above = self.estimator_.predict_proba(X)
        cumulative = np.hstack([np.ones((len(above), 1)), above, np.zeros((len(above), 1))])
        probabilities = np.clip(cumulative[:, :-1] - cumulative[:, 1:], 0.0, None)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X):
        winners = self.predict_proba(X).argmax(axis=1)
        return self.classes_[winners]


class LogTarget(RegressorMixin, BaseEstimator):
    """A regressor trained on the logarithm of a positive target (a lever for right-skewed prices): y·target_std +
    target_mean is the target in its units (housing_split standardises MEDV), the regressor learns log(units)
    standardised on the training rows, and predict maps exp(prediction) back to y's scale. exp of a predicted log
    is a median, not a mean, so the lever can lose R² where errors are wide."""

    _parameter_rules = {"target_mean": (_is_real, "a finite number"), "target_std": real(0, exclusive=True)}

    def __init__(self, regressor=None, target_mean=0.0, target_std=1.0):
        self.regressor = regressor
        self.target_mean = target_mean
        self.target_std = target_std

    def _logs(self, y, name):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        units = check_array(_flattened_column(y, name), name, ndim=1) * self.target_std + self.target_mean
        if units.min() <= 0:
            raise ValueError(f"LogTarget: {name} in its units ({name}·target_std + target_mean) must be positive, "
                             f"but its smallest value is {units.min():.4g}; pass the target_mean and target_std "
                             "that undo the target's standardisation, or train without the log target.")
        return np.log(units)

    def fit(self, X, y, X_val=None, y_val=None):
        check_parameters(self)
        check_array(X, "X")             # X's problems first, as every estimator here reports them
        logs = self._logs(y, "y")
        self.log_mean_, self.log_std_ = logs.mean(), logs.std() or 1.0
        validation = () if X_val is None else (X_val, (self._logs(y_val, "y_val") - self.log_mean_) / self.log_std_)
        self.regressor_ = clone(self.regressor).fit(X, (logs - self.log_mean_) / self.log_std_, *validation)
        self.n_features_in_ = self.regressor_.n_features_in_
        return self

    def predict(self, X):
        check_fitted(self, "regressor_")
        units = np.exp(self.regressor_.predict(X) * self.log_std_ + self.log_mean_)
        return (units - self.target_mean) / self.target_std


# ----------------------------------------------------------------------------------------------------------------
# 9. AutoEncoder: an MLP regressor whose target is its input; the narrowest layer is the latent code.
# ----------------------------------------------------------------------------------------------------------------
class AutoEncoder(TransformerMixin, MLP):
    """Encoder `encoder_layers` → `latent_dim` → mirrored decoder, trained to minimise the reconstruction MSE.

    `latent_activation` (default: `activation`) is the code layer's activation; 'linear' gives an unbounded code.
    transform(X) is the code, reconstruct(X) the decoded input, score(X) the reconstruction R². The training
    options are the MLP's.
    """

    # Fixed: an autoencoder regresses its input, with none of the classification levers and a constant rate.
    task = "regression"
    loss = None
    threshold = 0.5
    lr_schedule = "constant"
    class_weight = None
    label_smoothing = 0.0
    _parameter_rules = {
        **{name: rule for name, rule in MLP._parameter_rules.items()
           if name not in ("hidden_layers", "activation", "task", "loss", "threshold", "lr_schedule", "class_weight",
                           "label_smoothing")},
        "encoder_layers": layer_widths(),
        "latent_dim": integer(1),
        "activation": one_of(*ACTIVATIONS),
        "latent_activation": or_none(one_of(*ACTIVATIONS)),
    }

    def __init__(self, encoder_layers=(12,), latent_dim=9, activation="relu", latent_activation=None,
                 optimizer="mini_batch_gd", learning_rate=0.01, batch_size=32, epochs=100, patience=None, tol=0.0,
                 alpha=0.0, shuffle=True, warm_start=False, seed=0, verbose=False, dtype="float64"):
        self.encoder_layers = encoder_layers
        self.latent_dim = latent_dim
        self.activation = activation
        self.latent_activation = latent_activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.tol = tol
        self.alpha = alpha
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.seed = seed
        self.verbose = verbose
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type, tags.regressor_tags = None, None
        tags.target_tags.required = False
        return tags

    def _architecture(self):
        encoder = [self.encoder_layers] if _is_integer(self.encoder_layers) else list(self.encoder_layers)
        widths = [*encoder, self.latent_dim, *encoder[::-1]]
        names = ([self.activation] * len(encoder) + [self.latent_activation or self.activation]
                 + [self.activation] * len(encoder))
        return [int(width) for width in widths], names

    def fit(self, X, y=None, X_val=None):
        """Learn to reconstruct X (validation reconstruction loss on X_val if given); y is ignored. Returns self."""
        return super().fit(X, X, X_val, X_val)

    def transform(self, X):
        """The code: activations of the latent layer, shape (n, latent_dim)."""
        codes = self._as_param_dtype(self._check_fitted(X))
        for layer in range(len(self.hidden_widths_) // 2 + 1):
            codes = self._layer(layer, codes)
        return codes

    def reconstruct(self, X):
        """Decoder(encoder(X)), shape like X."""
        return self.predict(X)

    def score(self, X, y=None):
        """Reconstruction R² of X (y is ignored)."""
        return super().score(X, X)


# ----------------------------------------------------------------------------------------------------------------
# 10. PCA: the best linear reduction, the autoencoder's baseline.
# ----------------------------------------------------------------------------------------------------------------
class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis by SVD of the centred data: X ≈ mean + (X − mean) Vₖᵀ Vₖ.
    n_components=None keeps min(n_samples, n_features) components, as scikit-learn's."""

    _parameter_rules = {"n_components": or_none(integer(1))}

    def __init__(self, n_components=None):
        self.n_components = n_components

    def fit(self, X, y=None):
        """Learn the mean and principal axes of X (y is ignored). Returns self."""
        check_parameters(self)
        check_feature_names(self, X, reset=True)
        X = check_array(X, "X")
        n_components = min(X.shape) if self.n_components is None else self.n_components
        if n_components > min(X.shape):
            raise ValueError(f"n_components={n_components} exceeds min(n_samples, n_features)={min(X.shape)}: "
                             "lower n_components.")
        self.n_features_in_, self.n_components_ = X.shape[1], n_components
        self.mean_ = X.mean(axis=0)
        _, singular_values, components = np.linalg.svd(X - self.mean_, full_matrices=False)
        # Sign convention: the largest-magnitude loading of every component is positive, so results are stable.
        signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
        components *= np.where(signs == 0, 1.0, signs)[:, None]
        variances = singular_values ** 2 / max(len(X) - 1, 1)
        self.components_ = components[:n_components]
        self.explained_variance_ = variances[:n_components]
        total = variances.sum()
        self.explained_variance_ratio_ = self.explained_variance_ / total if total > 0 else np.zeros(n_components)
        return self

    def _check_fitted(self, X, n_columns_name):
        check_fitted(self, "components_", "fit(X)")
        if n_columns_name == "n_features_in_":
            check_feature_names(self, X, reset=False)
        X = check_array(X, "X")
        if n_columns_name == "n_features_in_":
            check_n_features(self, X)
        elif X.shape[1] != self.n_components_:
            raise ValueError(f"expected {self.n_components_} component columns, got {X.shape[1]}.")
        return X

    def transform(self, X):
        """Coordinates on the principal axes, shape (n, n_components_)."""
        X = self._check_fitted(X, "n_features_in_")
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z):
        """Back to feature space: mean + Z Vₖ."""
        Z = self._check_fitted(Z, "n_components_")
        return Z @ self.components_ + self.mean_


# ----------------------------------------------------------------------------------------------------------------
# 11. KNN: exact brute-force neighbours, fast.
#    Scanning all training rows is done in float32 (half the memory traffic of float64) in cache-sized blocks, on
#    every core. float32 only proposes candidates: a proven rounding margin guarantees that no true neighbour is
#    missed, and the candidates are then ranked by exact float64 distances, ties going to the lower training index.
#    All of it runs on the data scaled by one power of two (exact in floating point, and it leaves the order of
#    distances unchanged) so that the largest training value is about 1: float32 then neither overflows nor loses
#    the margin's guarantee, whatever the data's magnitude.
# ----------------------------------------------------------------------------------------------------------------
KNN_METRICS = ("euclidean", "manhattan", "cosine")
FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24
# Scaled queries larger than this could overflow a float32 scan (squares near 2^128); such blocks scan in float64.
FLOAT32_SAFE_MAGNITUDE = 2.0 ** 40


def power_of_two_exponent(values):
    """e such that max|values| / 2^e lies in [0.5, 1): dividing by 2^e is exact and brings the values near 1."""
    largest = np.max(np.abs(values)) if np.size(values) else 0.0
    return int(np.frexp(largest)[1]) if largest > 0 else 0


def _row_normalised(X):
    """Rows scaled to unit L2 norm (each row first brought near 1 by a power of two, so norms never overflow);
    all-zero rows stay zero (cosine distance 1 to everything, as scikit-learn)."""
    largest = np.abs(X).max(axis=1, keepdims=True)
    X = np.ldexp(X, -np.frexp(largest)[1])
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


class KNN(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour classifier with majority vote (ties between classes go to the first class in
    `classes_`, as scikit-learn). metric: 'euclidean' ‖q − t‖₂, 'manhattan' ‖q − t‖₁, 'cosine' 1 − q·t/(‖q‖‖t‖).
    `n_jobs` threads (None or -1: all cores) each work on `block_size` queries at a time, so memory stays bounded.
    score is accuracy.
    """

    SAMPLE_SIZE = 8192      # training rows used to bound each query's k-th distance before the full scan
    CHUNK_SIZE = 8192       # training rows per float32 scan block (measured: larger blocks amortise call overhead)
    _parameter_rules = {
        "k": integer(1),
        "metric": one_of(*KNN_METRICS),
        "n_jobs": (lambda value: value is None or (_is_integer(value) and (value >= 1 or value == -1)),
                   "None or -1 (all cores), or a positive number of threads"),
        "block_size": integer(1),
    }

    def __init__(self, k=5, metric="euclidean", n_jobs=None, block_size=32):
        self.k = k
        self.metric = metric
        self.n_jobs = n_jobs
        self.block_size = block_size

    def fit(self, X, y):
        """Remember the training rows and their labels. Returns self."""
        check_parameters(self)
        check_feature_names(self, X, reset=True)
        X = check_array(X, "X")
        labels = class_labels(y)
        check_same_length(X, labels)
        if self.k > len(X):
            raise ValueError(f"k={self.k} neighbours asked for, but the training set has only {len(X)} row(s) "
                             f"(n_samples = {len(X)}): lower k or add data.")
        self.n_features_in_ = X.shape[1]
        self.classes_, self._label_codes = np.unique(labels, return_inverse=True)
        self._exponent = power_of_two_exponent(X)
        self._points = np.ldexp(X, -self._exponent)
        scan_points = _row_normalised(X) if self.metric == "cosine" else self._points
        if self.metric == "manhattan":
            # Σ|q − p| = Σq + Σp − 2 Σ min(q, p): the scan adds one min per feature to −Σp/2.
            self._scan_points = np.ascontiguousarray(scan_points.T, dtype=np.float32)             # (d, m)
            self._scan_start = (-0.5 * scan_points.sum(axis=1)).astype(np.float32)
            self._scale = np.abs(scan_points).sum(axis=1).max()
        else:
            # ‖q − p‖² = ‖q‖² − 2 (q·p − ‖p‖²/2), 1 − q̂·p̂ = 1 − 2 (q̂·p̂/2): one matrix product with the
            # queries extended by a column of ones gives the score in brackets.
            squared_norms = (scan_points ** 2).sum(axis=1)
            last_row = -0.5 * squared_norms if self.metric == "euclidean" else np.zeros(len(X))
            factor = 1.0 if self.metric == "euclidean" else 0.5
            self._scan_points = np.ascontiguousarray(np.vstack([factor * scan_points.T, last_row]),
                                                     dtype=np.float32)                          # (d + 1, m)
            self._scale = squared_norms.max()
        sample_step = max(1, len(X) // self.SAMPLE_SIZE)
        self._sample_points = np.ascontiguousarray(self._scan_points[:, ::sample_step])
        self._sample_start = self._scan_start[::sample_step] if self.metric == "manhattan" else None
        return self

    # --- float32 scan -----------------------------------------------------------------------------------------
    def _scan(self, queries32, points, start=None):
        """float32 closeness scores s of each query to the training rows in `points` (columns of _scan_points):
        distance = a(q) − 2s (squared for euclidean), so the nearest rows have the largest scores."""
        if self.metric == "manhattan":
            scores = np.empty((len(queries32), points.shape[1]), np.float32)
            scores[...] = start
            scratch = np.empty_like(scores)
            for feature in range(points.shape[0]):
                np.minimum(queries32[:, feature:feature + 1], points[feature], out=scratch)
                scores += scratch
            return scores
        return queries32 @ points

    def _scan_queries(self, queries):
        """Queries in the scan's float32 form (normalised for cosine, with a column of ones for the product)."""
        if self.metric == "manhattan":
            return queries.astype(np.float32)
        scan_queries = _row_normalised(queries) if self.metric == "cosine" else queries
        return np.hstack([scan_queries, np.ones((len(queries), 1))]).astype(np.float32)

    def _margin(self, queries):
        """Bound, in distance units, on twice the error of a float32 score, from the standard rounding-error
        analysis of sums and dot products (n terms → error ≤ n·u·Σ|terms|), with room to spare."""
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
        """(distances, indices) of the k nearest training rows for a block of (scaled) queries, sorted by
        distance; distances in the scaled units."""
        if self.metric != "cosine" and np.abs(queries).max() > FLOAT32_SAFE_MAGNITUDE:
            return self._exact_neighbours(queries)
        queries32 = self._scan_queries(queries)
        # 1. The k-th largest score over a sample of rows bounds the k-th nearest distance; lowering it by the
        #    rounding margin (an error bound on the bound and on the row compared with it) loses no true neighbour.
        sampled = self._scan(queries32, self._sample_points, self._sample_start)
        threshold = np.partition(sampled, -self.k, axis=1)[:, -self.k] - self._margin(queries)
        threshold = np.nextafter(threshold.astype(np.float32), np.float32(-np.inf))[:, None]   # round down
        # 2. Scan every training row; keep those within the bound.
        rows, columns = [], []
        for start in range(0, len(self._points), self.CHUNK_SIZE):
            chunk = slice(start, start + self.CHUNK_SIZE)
            scanned = self._scan(queries32, self._scan_points[:, chunk],
                                 self._scan_start[chunk] if self.metric == "manhattan" else None)
            hits = np.flatnonzero(scanned >= threshold)    # 1-D nonzero is several times faster than 2-D
            rows.append(hits // scanned.shape[1])
            columns.append(hits % scanned.shape[1] + start)
        return self._rank_candidates(queries, self._points, np.concatenate(rows), np.concatenate(columns))

    def _rank_candidates(self, queries, points, rows, columns):
        """Rank candidate (query row, training column) pairs by exact distance, then index; first k per query."""
        distances = exact_distances(self.metric, queries[rows], points[columns])
        order = np.lexsort((columns, distances, rows))
        firsts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(queries)))[:-1]])
        picked = order[firsts[:, None] + np.arange(self.k)]
        return distances[picked], columns[picked]

    def _exact_neighbours(self, queries):
        """The float64 path for queries too large for a float32 scan: every training row is a candidate, and
        each query is brought near 1 by a power of two of its own first so that no distance overflows."""
        results = []
        for query in queries:
            shift = max(power_of_two_exponent(query), 0)
            points = np.ldexp(self._points, -shift)
            distances, indices = self._rank_candidates(np.ldexp(query, -shift)[None, :], points,
                                                       np.zeros(len(points), np.int64), np.arange(len(points)))
            results.append((np.ldexp(distances, shift), indices))
        return np.vstack([d for d, _ in results]), np.vstack([i for _, i in results])

    def kneighbors(self, X):
        """Distances and training-row indices of the k nearest neighbours of each row of X, nearest first."""
        check_fitted(self, "_points")
        check_feature_names(self, X, reset=False)
        X = check_array(X, "X")
        check_n_features(self, X)
        X = np.ldexp(X, -self._exponent)
        blocks = [X[start:start + self.block_size] for start in range(0, len(X), self.block_size)]
        from threadpoolctl import threadpool_limits
        threads = _workers(self.n_jobs)
        # One BLAS thread per worker: the workers already occupy every core.
        with threadpool_limits(1), ThreadPoolExecutor(threads) as pool, np.errstate(over="ignore", invalid="ignore"):
            results = list(pool.map(self._block_neighbours, blocks))
        distances = np.vstack([d for d, _ in results])
        if self.metric != "cosine":
            distances = np.ldexp(distances, self._exponent)
        return distances, np.vstack([i for _, i in results])

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
# 12. Model builders: the MLP a sweep configuration describes, its scikit-learn twin, and which configurations train
#     the same network.
# ----------------------------------------------------------------------------------------------------------------
def mlp_training_key(config):
    """Sweep configs that train the same MLP: 'sgd' (one row per step) and 'batch_gd' (all rows) ignore
    batch_size."""
    if config.get("optimizer") in ("sgd", "batch_gd"):
        return {**config, "batch_size": None}
    return config


SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}


# The target views a config can ask for (config["target"]): the wrapper, and the task its inner MLP learns.
TARGET_VIEWS = {"rounded": "regression", "cumulative": "multilabel", "log": "regression"}


def mlp_from_config(config, task="classification", seed=None, patience=None, target_units=(0.0, 1.0)):
    """The MLP a sweep config describes: hidden_layers, activation, optimizer, learning_rate, batch_size, epochs,
    and optionally patience, seed, alpha, loss, dtype, tol and the levers lr_schedule, class_weight,
    label_smoothing, input_transform (an INPUT_TRANSFORMS key: TransformedInput) and target (a TARGET_VIEWS key:
    'rounded' → RoundedRegression, 'cumulative' → CumulativeTargets, 'log' → LogTarget with `target_units`, the
    (mean, std) that undo a standardised target); the arguments fill in missing patience and seed. With `members`
    > 1, a SeedEnsemble of that many such MLPs."""
    options = {name: config[name] for name in ("alpha", "loss", "dtype", "tol", "lr_schedule", "class_weight",
                                               "label_smoothing") if name in config}
    view = config.get("target")
    if view is not None and view not in TARGET_VIEWS:
        raise ValueError(f"config target must be one of {', '.join(map(repr, TARGET_VIEWS))}; got {view!r}.")
    model = MLP(config["hidden_layers"], activation=config["activation"], task=TARGET_VIEWS.get(view, task),
                optimizer=config["optimizer"], learning_rate=config["learning_rate"], batch_size=config["batch_size"],
                epochs=config["epochs"], patience=config.get("patience", patience),
                seed=config.get("seed", 0) if seed is None else seed, **options)
    model = SeedEnsemble(model, config["members"]) if config.get("members", 1) > 1 else model
    if view == "rounded":
        model = RoundedRegression(model)
    elif view == "cumulative":
        model = CumulativeTargets(model)
    elif view == "log":
        model = LogTarget(model, *target_units)
    transform = config.get("input_transform")
    if transform is None:
        return model
    if transform not in INPUT_TRANSFORMS:
        raise ValueError(f"config input_transform must be one of {', '.join(map(repr, INPUT_TRANSFORMS))}; "
                         f"got {transform!r}.")
    return TransformedInput(model, INPUT_TRANSFORMS[transform]())


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
                 batch_size=OPTIMIZERS[optimizer].rows_per_step(config["batch_size"], n_train),
                 max_iter=config["epochs"], early_stopping=True, n_iter_no_change=patience, random_state=seed)


# ----------------------------------------------------------------------------------------------------------------
# 13. Experiment running: W&B grid sweeps on every core, one W&B run per training, results cached.
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


def advertisement_sweep_config(quick=False):
    """The multi-label grid of section 2.6 (16 points; quick=True keeps 4), scored by validation micro-F1."""
    parameters = {"hidden_layers": {"values": [[32], [64, 32]]}, "activation": {"values": ["relu", "tanh"]},
                  "optimizer": {"values": ["mini_batch_gd", "adam"]}, "learning_rate": {"values": [0.001, 0.01]},
                  "batch_size": {"value": 32}, "epochs": {"value": 20 if quick else 300}, "patience": {"value": 20}}
    if quick:
        parameters.update(hidden_layers={"values": [[32]]}, learning_rate={"values": [0.01]})
    return {"name": "advertisement-multilabel-grid" + ("-quick" if quick else ""), "method": "grid",
            "metric": {"name": "val_f1_micro", "goal": "maximize"}, "parameters": parameters}


def grid_values(sweep_config):
    """{parameter: [values]} of a grid sweep configuration, for tables."""
    return {name: spec.get("values", [spec.get("value")]) for name, spec in sweep_config["parameters"].items()}


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
    # A sweep makes hundreds of runs of a second each: W&B's per-run snapshot of the installed packages, git
    # state, console and system metrics would cost several times the run's own logging (measured: 0.10 s of
    # 0.12 s per run). requirements.txt and the commit record the environment once.
    init_options.setdefault("settings", wandb.Settings(x_save_requirements=False, x_disable_stats=True,
                                                       x_disable_meta=True, disable_git=True, console="off",
                                                       disable_job_creation=True))
    run = wandb.init(config=config, mode=wandb_mode(), reinit="finish_previous", **init_options)
    try:
        yield run, dict(run.config)
    finally:
        run.finish()


def log_history(run, history):
    """The curves of `history` (an MLP's history_) in one W&B call: a chart per quantity (loss, metric) with its
    training and validation lines. One call per run rather than one per epoch: a sweep logs hundreds of short
    runs, and per-epoch calls cost more than the trainings' own bookkeeping."""
    import wandb
    quantities = dict.fromkeys(key.split("_", 1)[1] for key in history if key.startswith("train_"))
    charts = {}
    for quantity in quantities:
        parts = [(label, history[f"{prefix}_{quantity}"]) for prefix, label in (("train", "training"),
                                                                                   ("val", "validation"))
                 if f"{prefix}_{quantity}" in history]
        charts[quantity] = wandb.plot.line_series(xs=history["epoch"], ys=[values for _, values in parts],
                                                  keys=[label for label, _ in parts], title=quantity, xname="epoch")
    run.log(charts)


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


SWEEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def sweep_cache_path(name):
    """results/sweeps/<name>.jsonl, the journal of a sweep or cross-validation; the name must be a plain file name,
    so a sweep never writes elsewhere."""
    if not isinstance(name, str) or not SWEEP_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"sweep name {name!r} must be a plain file name (letters, digits, '.', '_', '-'; no '/' "
                         "or '..'): it names the cache file in results/sweeps/.")
    return RESULTS_DIR / "sweeps" / f"{name}.jsonl"


def journal_for(name, setting, data, code, force=False):
    """The journal results/sweeps/<name>.jsonl for this setting, data fingerprint and code fingerprint;
    FORCE_SWEEPS=1 (or force) starts it afresh."""
    return Journal(sweep_cache_path(name), setting, data=data, code=code, force=force or FORCE_SWEEPS)


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
    metrics, status, seconds). Each training is appended to the journal results/sweeps/<name>.jsonl as it
    finishes: a re-run trains only what is not there (nothing, for a finished sweep of the same configuration),
    and force=True (or FORCE_SWEEPS=1) starts afresh. `.attrs`: 'wall_time' (s, over every session that
    trained), 'cached' (nothing trained now), 'trained_now' and 'provenance' (one line saying so).
    """
    name = sweep_config.get("name", "sweep")
    journal = journal_for(name, {"sweep_config": sweep_config}, **call_fingerprints(train_fn), force=force)
    trainer = _SweepTrainer(train_fn, expand_grid(sweep_config), project, name, n_jobs, training_key, journal)
    served_by = trainer.run(budget)
    rows = [{**trainer.trained[index], **point, "trained_as": index}
            for point, index in zip(trainer.points, served_by)]
    table = pd.DataFrame(rows)
    table.attrs.update(wall_time=journal.wall_time, cached=journal.trained_now == 0, trained_now=journal.trained_now,
                       provenance=journal.provenance())
    return table


class _SweepTrainer:
    """Trains the grid points of one sweep, each distinct training once, in parallel with a progress bar; the
    journal keeps each finished training."""

    def __init__(self, train_fn, points, project, name, n_jobs, training_key, journal):
        self.train_fn = train_fn
        self.points = points
        self.project = project
        self.name = name
        self.n_jobs = n_jobs
        self.training_key = training_key
        self.journal = journal
        self.first_point_of = {}            # training signature → the first point with it
        # For every point, the first point that trains identically (itself if none comes before).
        self.trains_as = [self.first_point_of.setdefault(self.signature(point), index)
                          for index, point in enumerate(points)]
        self.trained = {}

    def signature(self, point):
        """Equal for points that train the same network (training_key), as text."""
        return json.dumps(self.training_key(point) if self.training_key else point, sort_keys=True)

    def train(self, indices, progress):
        calls = {index: functools.partial(_run_grid_point, self.train_fn, self.points[index], self.project,
                                          self.name) for index in indices}
        self.trained.update(run_journaled(self.journal, calls, self.n_jobs, progress))

    def run(self, budget):
        """Train what must be trained; return, for every point, the index of the training that serves it."""
        from tqdm.auto import tqdm
        distinct = sorted(set(self.trains_as))
        served_by_longer = {}
        with tqdm(total=len(distinct), initial=sum(index in self.journal for index in distinct),
                  desc=f"sweep {self.name}") as progress:
            if budget is None:
                self.train(distinct, progress)
            else:
                longest = max(point[budget] for point in self.points)
                self.train([index for index in distinct if self.points[index][budget] == longest], progress)
                served_by_longer = self.served_by_longer_runs(distinct, budget, longest)
                progress.total -= len(served_by_longer)
                self.train([index for index in distinct
                            if index not in self.trained and index not in served_by_longer], progress)
        return [served_by_longer.get(index, index) for index in self.trains_as]

    def served_by_longer_runs(self, distinct, budget, longest):
        """Smaller-budget points whose longest-budget twin stopped early within their budget → that twin."""
        served = {}
        for index in (index for index in distinct if self.points[index][budget] != longest):
            twin = self.first_point_of.get(self.signature({**self.points[index], budget: longest}))
            row = self.trained.get(twin)
            if row and row["status"] != "failed" and row.get(f"{budget}_run", np.inf) <= self.points[index][budget]:
                served[index] = twin
        return served


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


SWEEP_HYPERPARAMETERS = ["hidden_layers", "learning_rate", "activation", "optimizer", "batch_size", "epochs"]


def distinct_trainings(sweep, metric, hyperparameters=SWEEP_HYPERPARAMETERS):
    """One row per distinct training of a sweep table (rows sharing `trained_as` are one training), best `metric`
    first (validation loss breaks ties), with `grid_points`: how many grid points that training stands for."""
    finished = sweep[sweep.status != "failed"]
    counts = finished.groupby("trained_as").size().rename("grid_points")
    rows = finished.loc[finished.index.isin(finished.trained_as.unique())].join(counts, on="trained_as")
    order = [metric, "val_loss"] if "val_loss" in rows else [metric]
    ranked = rows.sort_values(order, ascending=[False, True][:len(order)], kind="stable")
    return ranked[hyperparameters + [column for column in ranked.columns if column not in hyperparameters]] \
        .reset_index(drop=True)


# A hyperparameter is compared only over the trainings where it changes the training: plain SGD and full-batch GD
# do not use the batch size.
APPLIES = {"batch_size": lambda table: table.optimizer.isin(["mini_batch_gd", "momentum", "adam"])}


def _where_it_applies(table, parameter):
    return table[APPLIES[parameter](table)] if parameter in APPLIES else table


def hyperparameter_effects(table, hyperparameters, metric):
    """For every hyperparameter value: how many trainings had it, and the mean and best `metric` among them (a
    table of distinct trainings, so a training standing for several grid points counts once); the batch size only
    over the trainings that use it (APPLIES)."""
    rows = []
    for name in hyperparameters:
        applies = _where_it_applies(table, name)
        values = applies[name].map(json.dumps)
        for value, group in applies.groupby(values, sort=False)[metric]:
            rows.append({"parameter": name, "value": json.loads(value), "trainings": len(group),
                         "mean": group.mean(), "best": group.max()})
    return rows


def paired_effect(table, parameter, value_a, value_b, metric, others):
    """Mean `metric` with `parameter` = value_a minus value_b, paired over trainings equal in every hyperparameter
    of `others` (a training that stands for several values of `others` counts once), with its t-interval."""
    keyed = table.assign(**{name: table[name].map(json.dumps) for name in [parameter, *others]})
    cells = keyed.pivot_table(index=others, columns=parameter, values=metric, aggfunc="mean")
    if json.dumps(value_a) not in cells or json.dumps(value_b) not in cells:
        return {"difference": np.nan, "low": -np.inf, "high": np.inf, "over": "not both in this grid"}
    pairs = cells[[json.dumps(value_a), json.dumps(value_b)]].dropna()
    differences = pairs[json.dumps(value_a)] - pairs[json.dumps(value_b)]
    return paired_interval(differences, f"{len(differences)} matched trainings")


def effect_comparisons(table, hyperparameters, metric):
    """For each hyperparameter, over the trainings where it applies: the value with the best mean `metric` against
    the runner-up, paired over trainings that differ only in that hyperparameter."""
    comparisons = {}
    for parameter in hyperparameters:
        rows = _where_it_applies(table, parameter)
        means = rows.groupby(rows[parameter].map(json.dumps), sort=False)[metric].mean().sort_values(ascending=False)
        if len(means) < 2:                  # a grid that holds one value of it (quick mode) cannot say
            continue
        best, runner_up = (json.loads(value) for value in means.index[:2])
        others = [name for name in hyperparameters if name != parameter]
        comparisons[parameter] = {"best": best, "runner_up": runner_up,
                                  **paired_effect(rows, parameter, best, runner_up, metric, others)}
    return comparisons


def claim_comparisons(table, parameter, claimed, alternatives, metric, hyperparameters=SWEEP_HYPERPARAMETERS):
    """Paired comparisons of `claimed` against each alternative value of `parameter` (labelled 'a vs b')."""
    rows = _where_it_applies(table, parameter)
    others = [name for name in hyperparameters if name != parameter]
    return [{"label": f"{value_text(claimed)} vs {value_text(alternative)}",
             **paired_effect(rows, parameter, claimed, alternative, metric, others)} for alternative in alternatives]


def housing_claim_checks(table, claims, metric="val_r2", hyperparameters=SWEEP_HYPERPARAMETERS):
    """The original's section 3.3 claims (original_figures.json) as lists of paired comparisons on our sweep."""
    values = {name: list(dict.fromkeys(table[name].map(json.dumps))) for name in hyperparameters}
    others_than = {name: [json.loads(value) for value in values[name]] for name in hyperparameters}
    depths = table.assign(depth=table.hidden_layers.map(len))
    depth_others = [name for name in hyperparameters if name != "hidden_layers"]
    order = claims["depth_order"]
    return [
        {"claim": f"best optimizer {claims['best_optimizer']}",
         "comparisons": claim_comparisons(table, "optimizer", claims["best_optimizer"],
                                          [value for value in others_than["optimizer"]
                                           if value != claims["best_optimizer"]], metric, hyperparameters)},
        {"claim": f"{listing(claims['activations_better_than_tanh'])} above tanh",
         "comparisons": [comparison for name in claims["activations_better_than_tanh"]
                         for comparison in claim_comparisons(table, "activation", name, ["tanh"], metric,
                                                             hyperparameters)]},
        {"claim": f"best learning rate {claims['best_learning_rate']}",
         "comparisons": claim_comparisons(table, "learning_rate", claims["best_learning_rate"],
                                          [value for value in others_than["learning_rate"]
                                           if value != claims["best_learning_rate"]], metric, hyperparameters)},
        {"claim": f"depth order {' > '.join(map(str, order))} layers",
         "comparisons": [{"label": f"{deeper} vs {shallower} layers",
                          **paired_effect(depths, "depth", deeper, shallower, metric, depth_others)}
                         for deeper, shallower in zip(order, order[1:])]}]


def _cv_fold_score(config, task, metric, X, y, train_rows, test_rows, patience, seed, target_units):
    """Train on one fold's training rows (10 % of them held out for early stopping, unless the config's patience
    is None) and score its test rows."""
    from sklearn.model_selection import train_test_split
    model = mlp_from_config(config, task, seed=seed, patience=patience, target_units=target_units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if config.get("patience", patience) is None:
            model.fit(X[train_rows], y[train_rows])
        else:
            fit_rows, stop_rows = train_test_split(train_rows, test_size=0.1, random_state=seed)
            model.fit(X[fit_rows], y[fit_rows], X[stop_rows], y[stop_rows])
    return evaluate(task, y[test_rows], model.predict(X[test_rows]))[metric]


def cross_validated_ranking(configs, split, task, metric, name, folds=5, patience=20, seed=0, n_jobs=None):
    """Second stage of model selection: k-fold cross-validation of each config on train + validation rows
    (StratifiedKFold for classes, KFold otherwise; in each fold 10 % of the training rows are held out for early
    stopping), scored by `metric` (a key of `evaluate`). Returns one row per config with the fold scores' mean and
    std, in the order given, and `cv_rank` (1 = best mean). Each fold's score goes to the journal
    results/sweeps/<name>.jsonl as it finishes, as a sweep's trainings do (FORCE_SWEEPS=1 recomputes);
    `.attrs['provenance']` says how many came from the journal."""
    from sklearn.model_selection import KFold, StratifiedKFold
    X, y = np.vstack([split.X_train, split.X_val]), np.concatenate([split.y_train, split.y_val])
    journal = journal_for(name, {"configs": configs, "task": task, "metric": metric, "folds": folds,
                                 "patience": patience, "seed": seed},
                          data=data_fingerprint(X, y, split.target_units), code=code_fingerprint())
    splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
    fold_rows = list(splitter.split(X, y))
    calls = {(index, fold): functools.partial(_cv_fold_score, config, task, metric, X, y, train_rows, test_rows,
                                              patience, seed, split.target_units)
             for index, config in enumerate(configs) for fold, (train_rows, test_rows) in enumerate(fold_rows)}
    scores = run_journaled(journal, calls, n_jobs)
    rows = []
    for index, config in enumerate(configs):
        fold_scores = np.array([scores[index, fold] for fold in range(folds)])
        rows.append({**config, f"cv_{metric}_mean": fold_scores.mean(), f"cv_{metric}_std": fold_scores.std(ddof=1),
                     "fold_scores": fold_scores.tolist()})
    for rank, index in enumerate(np.argsort([-row[f"cv_{metric}_mean"] for row in rows], kind="stable"), 1):
        rows[index]["cv_rank"] = rank
    table = pd.DataFrame(rows)
    table.attrs.update(provenance=journal.provenance())
    return table


def hidden_units(config):
    """The number of hidden units of a sweep configuration: the size used to call one network simpler."""
    return int(sum(config["hidden_layers"]))


def cv_second_stage(distinct, split, task, metric, name, candidates, folds, hyperparameters=SWEEP_HYPERPARAMETERS):
    """The best `candidates` distinct trainings of a sweep (distinct_trainings' order) re-scored by `folds`-fold
    cross-validation on training + validation rows, and one chosen by a rule stated in advance: among the
    configurations whose fold scores are within noise of the best mean (Nadeau & Bengio's corrected interval of
    the paired fold differences includes zero), the one with the fewest hidden units (then the higher mean).
    Returns (table: hyperparameters, validation score and rank, fold mean and std, cv_rank, the difference to the
    best mean with its interval, within_noise, selected; the selected configuration). `.attrs['provenance']` as in
    cross_validated_ranking."""
    top = distinct.head(candidates).reset_index(drop=True)
    ranking = cross_validated_ranking(top[hyperparameters].to_dict("records"), split, task, metric, name=name,
                                      folds=folds)
    table = top[hyperparameters + [f"val_{metric}"]].assign(
        validation_rank=range(1, len(top) + 1), cv_rank=ranking.cv_rank,
        **{f"cv_{metric}_mean": ranking[f"cv_{metric}_mean"], f"cv_{metric}_std": ranking[f"cv_{metric}_std"]})
    best = int(ranking[f"cv_{metric}_mean"].idxmax())
    against_best = [fold_comparison(scores, ranking.fold_scores[best], folds - 1, 1) for scores in ranking.fold_scores]
    table["difference_to_best"] = [comparison["difference"] for comparison in against_best]
    table["interval_low"] = [comparison["low"] for comparison in against_best]
    table["interval_high"] = [comparison["high"] for comparison in against_best]
    table["within_noise"] = [index == best or comparison["high"] >= 0
                             for index, comparison in enumerate(against_best)]
    eligible = table[table.within_noise]
    chosen = min(eligible.index,
                 key=lambda index: (hidden_units(table.loc[index]), -table.loc[index, f"cv_{metric}_mean"]))
    table["selected"] = table.index == chosen
    table = table[hyperparameters + [f"val_{metric}", "validation_rank", f"cv_{metric}_mean", f"cv_{metric}_std",
                                     "cv_rank", "difference_to_best", "interval_low", "interval_high", "within_noise",
                                     "selected"]]
    table.attrs.update(provenance=ranking.attrs["provenance"])
    return table, table.loc[chosen, hyperparameters].to_dict()


def lever_comparison(base, levers, split, task, metric, name, folds, patience=20,
                     base_name="selected configuration"):
    """Tabular levers scored the honest way: `base` (the selected configuration) and each lever ({name: config
    changes}) alone by `folds`-fold cross-validation on the non-test rows, then the levers with a positive mean
    difference combined (of levers that set the same parameter, only the best), as the row 'combination (…)';
    each row against the base on the same folds (Nadeau & Bengio's interval), with a verdict: ahead, behind,
    within noise, or identical (the same score on every fold: the lever changed nothing that fold scores see).
    The recipe is the best mean among the rows ahead of the base beyond noise, or the base if none is.
    `base_name` names the base's row (the first) and is the recipe's name when no lever is ahead. Returns
    (table, recipe name, recipe config)."""
    configs = {base_name: base, **{lever: {**base, **changes} for lever, changes in levers.items()}}
    ranking = cross_validated_ranking(list(configs.values()), split, task, metric, name=name, folds=folds,
                                      patience=patience)
    scores = dict(zip(configs, ranking.fold_scores))
    helpful, changed = [], set()
    # Best first: a lever setting a parameter a better one set already (two schedules, two target views) is left out.
    for lever in sorted(levers, key=lambda lever: -np.mean(scores[lever])):
        if np.mean(scores[lever]) > np.mean(scores[base_name]) and not changed & set(levers[lever]):
            helpful.append(lever)
            changed |= set(levers[lever])
    if len(helpful) > 1:
        combined = f"combination ({' + '.join(helpful)})"
        configs[combined] = {**base, **{key: value for lever in helpful for key, value in levers[lever].items()}}
        scores[combined] = cross_validated_ranking([configs[combined]], split, task, metric, name=f"{name}-combined",
                                                   folds=folds, patience=patience).fold_scores[0]
    rows = []
    for lever, lever_scores in scores.items():
        comparison = fold_comparison(lever_scores, scores[base_name], folds - 1, 1)
        rows.append({"lever": lever, f"cv {metric} mean": float(np.mean(lever_scores)),
                     f"cv {metric} std": float(np.std(lever_scores, ddof=1)),
                     "minus selected": comparison["difference"],
                     "interval low": comparison["low"], "interval high": comparison["high"],
                     "verdict": "identical" if lever != base_name and np.array_equal(
                         lever_scores, scores[base_name]) else
                     verdict(comparison, "ahead", "behind", "within noise")})
    ahead = [row for row in rows if row["verdict"] == "ahead"]
    recipe = max(ahead, key=lambda row: row[f"cv {metric} mean"])["lever"] if ahead else base_name
    return pd.DataFrame(rows), recipe, configs[recipe]


def _fit_history(model, split):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*split.fit_args).history_


def one_change_curves(config, split, task, parameter, values, n_jobs=None, **fixed):
    """Training histories of `config` with `parameter` set to each of `values` (other changes in `fixed`), without
    early stopping so the whole curve is visible; trained in parallel. Returns {'parameter=value': history}."""
    from joblib import Parallel, delayed
    base = {**config, **fixed, "patience": None}
    models = [mlp_from_config({**base, parameter: value}, task) for value in values]
    histories = Parallel(n_jobs=_workers(n_jobs))(delayed(_fit_history)(model, split) for model in models)
    return {f"{parameter}={value}": history for value, history in zip(values, histories)}


def curve_summary(histories, metric="accuracy"):
    """Per curve: final training and validation loss, the lowest validation loss and its epoch, final metric."""
    return {label: {"final_train_loss": history["train_loss"][-1], "final_val_loss": history["val_loss"][-1],
                    "min_val_loss": min(history["val_loss"]),
                    "epoch_of_min_val_loss": int(np.argmin(history["val_loss"]) + 1),
                    f"final_val_{metric}": history[f"val_{metric}"][-1]}
            for label, history in histories.items()}


def _seed_curve(config, make_split, task, parameter, value, seed, fixed):
    model = mlp_from_config({**config, **fixed, "patience": None, parameter: value}, task, seed=seed)
    return _fit_history(model, make_split(seed))


def curves_over_seeds(config, make_split, task, parameter, values, seeds, n_jobs=None, name=None, **fixed):
    """one_change_curves on each seed's split and initialisation: {seed: {'parameter=value': history}}, trained in
    parallel. With `name`, each history goes to the journal results/sweeps/<name>.jsonl as it finishes, as a
    sweep's trainings do (FORCE_SWEEPS=1 recomputes)."""
    from joblib import Parallel, delayed
    calls = {(seed, value): functools.partial(_seed_curve, config, make_split, task, parameter, value, seed, fixed)
             for seed in seeds for value in values}
    if name is None:
        histories = dict(zip(calls, Parallel(n_jobs=_workers(n_jobs))(delayed(call)() for call in calls.values())))
    else:
        journal = journal_for(name, {"config": config, "task": task, "parameter": parameter,
                                     "values": list(values), "seeds": list(seeds), "fixed": fixed},
                              data=data_fingerprint([make_split(seed) for seed in seeds]),
                              code=code_fingerprint(make_split))
        histories = run_journaled(journal, calls, n_jobs)
    curves = {seed: {} for seed in seeds}
    for (seed, value), history in histories.items():
        curves[seed][f"{parameter}={value}"] = history
    return curves


def curve_summary_over_seeds(curves, metric="accuracy"):
    """curve_summary averaged over seeds, per curve, with 'seeds', the epochs of the minimum per seed and
    'at_last_epoch': in how many seeds the minimum validation loss is the last epoch (no over-fitting yet)."""
    per_seed = {seed: curve_summary(histories, metric) for seed, histories in curves.items()}
    summary = {}
    for label in next(iter(per_seed.values())):
        rows = [per_seed[seed][label] for seed in per_seed]
        last_epoch = [len(curves[seed][label]["val_loss"]) for seed in per_seed]
        summary[label] = {**{key: float(np.mean([row[key] for row in rows])) for key in rows[0]},
                          "epochs_of_min_per_seed": [row["epoch_of_min_val_loss"] for row in rows],
                          "seeds": len(rows),
                          "at_last_epoch": sum(row["epoch_of_min_val_loss"] == last
                                               for row, last in zip(rows, last_epoch))}
    return summary


def decay_epochs(history, fraction=0.9):
    """The first epoch at which the validation loss has fallen `fraction` of the way from its first value to its
    minimum: how fast a loss curve decays, comparable between losses of different scales."""
    losses = np.asarray(history["val_loss"])
    target = losses[0] - fraction * (losses[0] - losses.min())
    return int(np.argmax(losses <= target) + 1)


def has_twin(X, among):
    """For every row of X: does an identical feature vector appear among the rows of `among`?"""
    return np.isin(identical_rows(X), identical_rows(among))


def _seed_scores(make_split, models, task, seed, scores):
    split = make_split(seed)
    rows = []
    for name, make_model in models.items():
        model = make_model(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            uses_validation = "X_val" in inspect.signature(model.fit).parameters     # early stopping on validation
            model.fit(*(split.fit_args if uses_validation else (split.X_train, split.y_train)))
        predicted = model.predict(split.X_test)
        measured = scores(model, split) if scores else evaluate(task, split.y_test, predicted)
        if task == "regression":                    # in the target's units: each seed standardises it its own way
            predicted = split.to_units(predicted)
        rows.append({"seed": seed, "model": name, **measured, "test_predictions": np.asarray(predicted).tolist()})
    return rows


def _timed_fit(model, fit_args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        started = time.perf_counter()
        model.fit(*fit_args)
        return model, time.perf_counter() - started


def fit_in_parallel(fits, n_jobs=None, threads=False, in_thread=()):
    """Fit independent models at the same time, one per core: {name: (model, fit arguments)} → {name: (fitted
    model, seconds its fit took)}. Worth it where each fit leaves cores idle (a small network's matrix products use
    one core well, two poorly); give multi-threaded models n_jobs=1 here. `threads=True` keeps the models in this
    process instead of copying them back from worker processes: right for heavy models (a random forest on
    91 200 rows weighs gigabytes) whose work runs outside Python's global lock (NumPy's matrix products,
    scikit-learn's tree building). `in_thread` names models fitted in a thread of this process beside the others,
    which go to worker processes: a heavy forest stays here while the networks' Python loops, which would contend
    for the global lock in threads, run in processes of their own."""
    from concurrent.futures import ThreadPoolExecutor
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1), ThreadPoolExecutor(max(1, len(in_thread))) as pool:
        beside = {name: pool.submit(_timed_fit, *fits[name]) for name in in_thread}
        rest = [name for name in fits if name not in beside]
        fitted = Parallel(n_jobs=_workers(n_jobs), backend="threading" if threads else "loky")(
            delayed(_timed_fit)(*fits[name]) for name in rest)
        results = dict(zip(rest, fitted)) | {name: future.result() for name, future in beside.items()}
    return {name: results[name] for name in fits}


def identical_rows(X):
    """One hash per row of X (equal rows, equal hashes), to find duplicate feature vectors quickly."""
    return pd.util.hash_pandas_object(pd.DataFrame(np.ascontiguousarray(X)), index=False).to_numpy()


def duplicate_ceiling(X, y):
    """The highest accuracy any classifier can reach on (X, y): rows with identical features get one prediction,
    so each group of identical rows contributes at most the count of its most common label."""
    groups = pd.DataFrame({"row": identical_rows(X), "label": y})
    return float(groups.groupby(["row", "label"]).size().groupby(level="row").max().sum() / len(groups))


def compare_over_seeds(make_split, models, task, seeds, scores=None, n_jobs=None):
    """Test scores of several models over seeds: for each seed, `make_split(seed)`, then every `models[name](seed)`
    is fitted (on the training rows, with the validation rows for early stopping if it is one of this engine's
    models) and scored on the test split by `scores(model, split)` (default: `evaluate` on its predictions). Seeds
    run in parallel. Returns (one row per seed and model with its `test_predictions` — in the target's units for
    regression — for paired comparisons, mean and std per model)."""
    from joblib import Parallel, delayed
    per_seed_rows = Parallel(n_jobs=_workers(n_jobs))(
        delayed(_seed_scores)(make_split, models, task, seed, scores) for seed in seeds)
    per_seed = pd.DataFrame([row for rows in per_seed_rows for row in rows])
    summary = per_seed.drop(columns=["seed", "test_predictions"]).groupby("model", sort=False).agg(["mean", "std"])
    return per_seed, summary


# === end of the engine === (everything above computes results and keys the caches; code_fingerprint)
# ----------------------------------------------------------------------------------------------------------------
# 14. Report outputs: figures and the numbers report.md is generated from.
# ----------------------------------------------------------------------------------------------------------------
def notebook_setup():
    """What every notebook does first: seaborn's style, pandas' display precision, a quiet W&B. Returns
    (QUICK, SEEDS): the run mode and the seeds to repeat results over (2 in quick mode, 5 in full)."""
    import seaborn as sns
    os.environ.setdefault("WANDB_SILENT", "true")
    sns.set_theme(style="whitegrid", context="notebook")
    pd.set_option("display.precision", 3)
    return QUICK, range(2) if QUICK else range(5)


def save_figure(figure, name):
    """Write a figure to figures/<name>.png (quick mode: build/quick/figures), whole or not at all, and close it:
    the notebook shows it where its narrative places it, with show_figure(name, caption)."""
    import io
    import matplotlib.pyplot as plt
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=130, bbox_inches="tight")
    write_atomic(FIGURES_DIR / f"{name}.png", png.getvalue())
    plt.close(figure)


def read_results(name, results_dir=None):
    """results/<name>.json as its notebook wrote it; a missing or unreadable file is a one-line error saying how to
    regenerate it."""
    path = Path(results_dir or RESULTS_DIR) / f"{name}.json"
    fix = f"regenerate it with `make report` (or by running notebooks/{name}.ipynb)"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {fix}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path} is unreadable ({type(error).__name__}: {error}): {fix}.") from None


def save_results(name, results):
    """Write a notebook's quoted numbers to results/<name>.json (whole or not at all)."""
    return write_atomic(RESULTS_DIR / f"{name}.json", to_json(results, indent=1))


def plot_histories(histories, key="loss", ax=None, title=None, ylabel=None):
    """Curves of `train_<key>` (dashed) and `val_<key>` (solid) per epoch for each labelled history; every line is
    named in the legend, so no legend title is needed."""
    import matplotlib.pyplot as plt
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for (label, history), colour in zip(histories.items(), itertools.cycle(plt.rcParams["axes.prop_cycle"])):
        ax.plot(history["epoch"], history[f"train_{key}"], "--", color=colour["color"], alpha=0.8,
                label=f"{label}, training")
        if f"val_{key}" in history:
            ax.plot(history["epoch"], history[f"val_{key}"], "-", color=colour["color"], label=f"{label}, validation")
    ax.set(xlabel="epoch", ylabel=ylabel or key.replace("_", " "), title=title)
    ax.legend(fontsize=8)
    return ax


def plot_effect_curves(histories, loss_name, metric="accuracy", title=None):
    """Three panels — training loss, validation loss, validation metric — one line per run, so training and
    validation never share an axis. The loss axes stop at 1.5 × the highest starting loss, so one diverging run
    (e.g. a large learning rate) cannot squash the others; a clipped run is marked in the legend."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(15, 3.9))
    start = max(history["train_loss"][0] for history in histories.values())
    for label, history in histories.items():
        clipped = max(max(history["train_loss"]), max(history["val_loss"])) > 1.5 * start
        for ax, key in zip(axes, ("train_loss", "val_loss", f"val_{metric}")):
            ax.plot(history["epoch"], history[key], label=label + (" (leaves the loss axes)" if clipped else ""))
    for ax, name in zip(axes, (f"training {loss_name}", f"validation {loss_name}", f"validation {metric}")):
        ax.set(xlabel="epoch", ylabel=name, title=name)
    for ax in axes[:2]:
        ax.set_ylim(0, 1.5 * start)
    # One legend under the panels, so that it covers no curve.
    figure.legend(*axes[2].get_legend_handles_labels(), loc="lower center", ncol=len(histories), fontsize=9,
                  frameon=False)
    if title:
        figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure


def lever_panels(wine, housing, diabetes, spotify):
    """Every lever's cross-validated difference from the model it changes, per data set: {panel title: (rows of
    lever, difference, low, high, verdict; accuracy shown in points?)}."""
    def rows(results):
        return [{"lever": row["lever"], "difference": row["minus selected"], "low": row["interval low"],
                 "high": row["interval high"], "verdict": row["verdict"]}
                for row in results["tabular_levers"]["table"][1:]]
    return {"wine: accuracy, points": (rows(wine), True), "housing: R²": (rows(housing), False),
            "diabetes (logistic regression, BCE): accuracy, points": (rows(diabetes), True),
            "Spotify genres: accuracy, points": (rows(spotify), True)}


LEVER_COLOURS = {"ahead": "#2e7d32", "behind": "#c62828", "within noise": "#757575", "identical": "#64b5f6"}


def plot_lever_intervals(panels):
    """One panel per data set: each lever's mean difference from the model it changes (dot) and its 95 % corrected
    interval (bar), coloured by the noise rule's verdict; the zero line is 'no change'."""
    import textwrap
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    heights = [len(rows) for rows, _ in panels.values()]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 1.0 + 0.26 * sum(heights) + 0.45 * len(panels)),
                                gridspec_kw={"height_ratios": heights})
    for ax, (title, (rows, as_points)) in zip(np.atleast_1d(axes), panels.items()):
        scale = 100 if as_points else 1
        for position, row in enumerate(rows):
            colour = LEVER_COLOURS[row["verdict"]]
            ax.plot([row["low"] * scale, row["high"] * scale], [position, position], color=colour, linewidth=2)
            ax.plot(row["difference"] * scale, position, "o", color=colour, markersize=4)
        ax.axvline(0, color="black", linewidth=0.8)
        labels = ["the levers with a positive mean, combined" if row["lever"].startswith("combination (")
                  else textwrap.fill(row["lever"], 45) for row in rows]      # the section names the combination
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.xaxis.set_major_locator(plt.MaxNLocator(7))
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    np.atleast_1d(axes)[0].legend([Line2D([], [], color=colour, linewidth=2) for colour in LEVER_COLOURS.values()],
                                  list(LEVER_COLOURS), fontsize=7, loc="lower left", ncol=4,
                                  bbox_to_anchor=(0.0, 1.12), frameon=False)
    np.atleast_1d(axes)[-1].set_xlabel("lever minus the model it changes (cross-validated, 95 % corrected interval)",
                                       fontsize=8)
    figure.tight_layout()
    return figure


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


# ----------------------------------------------------------------------------------------------------------------
# 15. Wording: every number and comparison word of the report's prose, computed. A notebook shows a sentence with
#     show(f"…{helpers.above_below(ours, theirs)}…"), a table with show_table and a saved figure with show_figure;
#     notebooks/export.py assembles report.md from those outputs and the markdown cells.
# ----------------------------------------------------------------------------------------------------------------
# The names of the table rows that sentences look up; the notebooks name their rows with these, so that renaming
# a row is one edit here.
ROWS = SimpleNamespace(
    mlp="this MLP", sklearn_mlp="scikit-learn MLP", forest="random forest", majority="majority class",
    one_nn="1-nearest neighbour",
    linear="linear regression", no_label="all zeros",
    full="full 15-d", code="autoencoder 9-d", pca="PCA 9-d", small_pca="PCA 7-d",            # Spotify features
    genre_mlp="MLP on full 15-d", genre_mlp_code="MLP on autoencoder 9-d", genre_knn="KNN on full 15-d",
    genre_forest="random forest on full 15-d (scikit-learn defaults)")


def show(markdown):
    """Display computed prose as markdown: the notebook shows it, and the report takes it as it is. Lines wrapped
    in the source are joined (a computed '8. ' at a line's start would otherwise begin a list); tables, lists and
    headings keep their lines."""
    from IPython.display import Markdown, display
    display(Markdown(re.sub(r"(?<!\n)\n(?!\n|\||- |\* |#|>)", " ", markdown)))


def show_table(records, columns=None, digits=3, headers=None, top=None, full_table=None, order_by=None):
    """Display a list of dicts (or a DataFrame) as a markdown table (see markdown_table): sorted by `order_by`
    (ascending) if given, only the first `top` rows if given, with a line naming the appendix section `full_table`
    that shows them all."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict("records")
    if order_by:
        records = sorted(records, key=lambda record: record[order_by])
    shown = records[:top] if top else records
    note = (f"\n\n*The first {len(shown)} of {len(records)} rows; all of them in appendix {full_table}.*"
            if full_table and len(shown) < len(records) else "")
    show(markdown_table(shown, columns, digits, headers) + note)


def show_figure(name, caption):
    """Display figures/<name>.png with its caption; the report links the file (output metadata 'report_figure')."""
    from IPython.display import Image, display
    display(Image(filename=str(FIGURES_DIR / f"{name}.png")),
            metadata={"report_figure": {"path": f"figures/{name}.png", "caption": caption}})
    show(f"*{caption}*")


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


def markdown_table(records, columns=None, digits=3, headers=None):
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
    """The first record whose fields equal `conditions`; a KeyError naming them if there is none."""
    for record in records:
        if all(record.get(key) == value for key, value in conditions.items()):
            return record
    raise KeyError(f"no row with {conditions} among {len(records)} rows (is the row's name in ROWS the one the "
                   "notebook wrote?)")


# --- words computed from the numbers: every comparison in the report's prose comes from one of these -------------
# The original report's figures and claims, cited beside ours.
ORIGINAL = json.loads((PROJECT_DIR / "notebooks" / "original_figures.json").read_text(encoding="utf-8"))


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
    """'higher than', 'lower than' or 'the same as' (within `tolerance`), for one measurement against another."""
    if abs(ours - theirs) <= tolerance:
        return "the same as"
    return "higher than" if ours > theirs else "lower than"


def points(difference):
    """An accuracy difference in percentage points, e.g. '4.1 points'."""
    return f"{abs(100 * difference):.1f} points"


def listing(items):
    """'a, b and c' ('none' for no items)."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "none"


# --- the noise rule: a comparison word only when the 95 % interval of the paired difference excludes zero --------
WITHIN_NOISE = "indistinguishable at this sample size from"


def verdict(comparison, above="above", below="below", within=WITHIN_NOISE):
    """`above` when the 95 % interval of a − b lies above zero, `below` when it lies below zero, else `within`."""
    if comparison["low"] > 0:
        return above
    if comparison["high"] < 0:
        return below
    return within


def support_word(comparison):
    """For a comparison oriented so that a positive difference is what a claim says: 'supports' (interval above
    zero), 'contradicts' (below zero) or 'neither supports nor contradicts' (the interval includes zero)."""
    return verdict(comparison, "supports", "contradicts", "neither supports nor contradicts")


def signed(value, scale=1.0, digits=3):
    """'+0.038', '−5.0': a difference with its sign (a value that rounds to zero is '±0.0', never '−0.0')."""
    text = f"{value * scale:+.{digits}f}"
    if float(text) == 0:
        return "±" + text[1:]
    return text.replace("-", "−")


def interval_text(comparison, as_points=False, digits=3):
    """'+5.0 points, 95 % interval +1.2 to +8.8; 115 test rows, 5 seeds' (accuracies as percentage points) or
    '+0.038, 95 % interval −0.010 to +0.086; 5 folds, corrected'."""
    scale, digits, unit = (100, 1, " points") if as_points else (1, digits, "")
    if np.isnan(comparison["difference"]):
        return f"no comparison: {comparison['over']}"
    return (f"{signed(comparison['difference'], scale, digits)}{unit}, 95 % interval "
            f"{signed(comparison['low'], scale, digits)} to {signed(comparison['high'], scale, digits)}; "
            f"{comparison['over']}")


def paired_sentence(name_a, name_b, mean_a, mean_b, comparison, metric="accuracy"):
    """'the random forest's mean test accuracy (0.677) is above the MLP's (0.626): +5.0 points, 95 % interval …'
    — `comparison` is a minus b on the same rows."""
    return (f"{name_a}'s mean test {metric} ({number(mean_a)}) is {verdict(comparison)} {name_b}'s "
            f"({number(mean_b)}): {interval_text(comparison, as_points=metric == 'accuracy')}")


def forest_sentence(summary, paired, metric="accuracy"):
    """The random forest against the MLP over seeds, paired on the test rows (`paired[forest]` is MLP − forest)."""
    mlp, forest = find(summary, model=ROWS.mlp)["mean"], find(summary, model=ROWS.forest)["mean"]
    return paired_sentence("the random forest", "the MLP", forest, mlp, flipped(paired[ROWS.forest]), metric)


def flipped(comparison):
    """b − a from a − b."""
    return {**comparison, "difference": -comparison["difference"], "low": -comparison["high"],
            "high": -comparison["low"]}


def wine_conclusion(summary, paired):
    """The selected MLP against each baseline over seeds, with the noise rule."""
    mean = {row["model"]: row["mean"] for row in summary}
    parts = [f"{verdict(paired[name])} {label} ({interval_text(paired[name], as_points=True)})"
             for name, label in ((ROWS.sklearn_mlp, "scikit-learn's MLP trained the same way"),
                                 (ROWS.majority, "the majority class"))]
    return (f"the MLP's mean test accuracy ({number(mean[ROWS.mlp])}) is {parts[0]} and {parts[1]}; "
            f"{forest_sentence(summary, paired)}")


def linear_sentence(r2_summary, paired):
    """Linear regression against the MLP on housing (paired R²), and the MLP's spread over seeds."""
    mlp, linear = find(r2_summary, model=ROWS.mlp), find(r2_summary, model=ROWS.linear)
    comparison = flipped(paired[ROWS.linear])
    consequence = {"below": "so the non-linear MLP earns its keep on this data",
                   "above": "so the non-linearity adds nothing on this data",
                   WITHIN_NOISE: "so this test part cannot tell whether the non-linearity helps"}[verdict(comparison)]
    return (f"{paired_sentence('linear regression', 'the MLP', linear['mean'], mlp['mean'], comparison, 'R²')}, "
            f"{consequence}. The MLP's R² varies over seeds with a standard deviation of {mlp['std']:.3f}")


def cv_choice_sentence(rows, metric):
    """How many candidates the folds cannot separate from the best, and which one the stated rule selected."""
    best = max(rows, key=lambda row: row[f"cv_{metric}_mean"])
    chosen = next(row for row in rows if row["selected"])
    within = sum(row["within_noise"] for row in rows)
    if within == 1:
        choice = (f"the best mean fold {metric} ({number(best[f'cv_{metric}_mean'])}) is ahead of every other "
                  "beyond noise")
    else:
        choice = (f"{within} of the {len(rows)} candidates are within noise of the best mean fold {metric} "
                  f"({number(best[f'cv_{metric}_mean'])}; the corrected interval of their paired fold differences "
                  "includes zero), so the folds cannot rank them")
    selected = ("the best mean itself" if chosen is best else
                f"the configuration ranked {chosen['cv_rank']} by cross-validation (mean fold {metric} "
                f"{number(chosen[f'cv_{metric}_mean'])})")
    return (f"{choice}; the rule stated in advance (the fewest hidden units among those within noise) selects "
            f"{selected}, ranked {chosen['validation_rank']} of {len(rows)} on the validation split")


def effects_sentence(comparisons, metric):
    """Per hyperparameter, the value with the best mean against the runner-up, paired over trainings that differ
    only in that hyperparameter."""
    parts = []
    for parameter, comparison in comparisons.items():
        parts.append(f"{parameter.replace('_', ' ')} {value_text(comparison['best'])} is "
                     f"{verdict(comparison, 'ahead of', 'behind', WITHIN_NOISE)} {value_text(comparison['runner_up'])} "
                     f"({interval_text(comparison, as_points=metric == 'accuracy')})")
    return "; ".join(parts)


def ensemble_sentence(levers):
    """Is the seed ensemble ahead of one seed in cross-validation beyond noise, and so on the test part?"""
    comparison = levers["comparison"]
    rule = ("it is ahead beyond noise, so it gets its own row on the test part" if levers["use_ensemble"] else
            "that is within noise, so the single model alone goes to the test part")
    return (f"in mean fold accuracy, the ensemble minus one seed is {interval_text(comparison, as_points=True)}: "
            f"{rule}")


def earlier_sentence(curves, parameter, larger_is_sooner):
    """Does the epoch of the minimum validation loss move as expected when `parameter` grows? `curves` maps
    'parameter=value' to a summary with 'epoch_of_min_val_loss' (mean over seeds), 'seeds' and 'at_last_epoch'
    (seeds whose minimum is the last epoch: not yet over-fitting)."""
    ordered = sorted(curves.items(), key=lambda item: float(item[0].split("=", 1)[1]))
    values = [label.split("=", 1)[1] for label, _ in ordered]
    epochs = [summary["epoch_of_min_val_loss"] for _, summary in ordered]
    steps = list(zip(epochs, epochs[1:]))
    holds = all(later <= sooner for sooner, later in steps) if larger_is_sooner else \
        all(later >= sooner for sooner, later in steps)
    expected = "sooner" if larger_is_sooner else "later"
    unfinished = [value for value, (_, summary) in zip(values, ordered)
                  if summary["at_last_epoch"] == summary["seeds"]]
    note = (f"; {listing(unfinished)} reach {'it' if len(unfinished) == 1 else 'theirs'} at the last epoch in every "
            "seed, so they had not begun to over-fit" if unfinished else "")
    return (f"by {parameter.replace('_', ' ')} ({listing(values)}) the minimum validation loss came, on average over "
            f"{ordered[0][1]['seeds']} seeds, at epochs {listing(number(epoch, 0) for epoch in epochs)}; expected "
            f"{expected} for a larger value, which {'holds' if holds else 'does not hold'} across these values{note}")


def housing_claims(checks):
    """The original's section 3.3 claims about the housing sweep, each checked by paired comparisons over trainings
    that differ only in the hyperparameter concerned; a claim holds only if every comparison it implies does."""
    sentences = []
    for check in checks:
        words = [support_word(comparison) for comparison in check["comparisons"]]
        overall = ("contradicts" if "contradicts" in words else "supports" if set(words) == {"supports"}
                   else "neither supports nor contradicts")
        detail = "; ".join(f"{comparison['label']} {interval_text(comparison)}" for comparison in check["comparisons"])
        sentences.append(f"{check['claim']}: {detail} — {overall} it")
    return sentences


def decay_sentence(decay):
    """BCE against MSE: epochs until the validation loss has fallen most of the way to its minimum, over seeds."""
    bce, mse = (np.mean(decay[loss]["epochs"]) for loss in ("binary_cross_entropy", "mse"))
    return (f"the validation loss fell {number(100 * decay['fraction'], 0)} % of the way from its first value to its "
            f"minimum in {number(bce, 1)} epochs with BCE and {number(mse, 1)} with MSE on average over "
            f"{len(decay['mse']['epochs'])} seeds (MSE minus BCE, in epochs: "
            f"{interval_text(decay['comparison'], digits=1)})")


def convergence_claim(decay):
    """The original (3.6) says MSE converges faster: a claim about how fast the loss decays, checked over seeds."""
    faster_mse = flipped(decay["comparison"])            # BCE − MSE epochs: positive when MSE is faster
    return (f"The original report (section {ORIGINAL['mse_vs_bce_claim']['section']}) says MSE converges faster; "
            f"measured on how fast each validation loss decays, the evidence of our runs {support_word(faster_mse)} "
            "that claim")


# --- sentences: each states one comparison, its words computed from the numbers ----------------------------------




def value_text(value):
    """A hyperparameter value as text: names plain, lists and numbers as they are."""
    return value if isinstance(value, str) else json.dumps(value)




def effect_table(effects):
    return markdown_table(effects, ["parameter", "value", "trainings", "mean", "best"])








def curve_sentence(curve):
    """Autoencoder against PCA over the latent-size curve."""
    below = [row["latent size"] for row in curve if row["autoencoder"] <= row["PCA"]]
    if not below:
        sizes = listing(row["latent size"] for row in curve)
        return f"the autoencoder's test R² is above PCA's at every latent size of the curve ({sizes})"
    above = [row["latent size"] for row in curve if row["latent size"] not in below]
    return (f"the autoencoder's test R² is above PCA's at latent sizes {listing(above)} and not above it at "
            f"{listing(below)}")


def speed_sentence(mlp_rows, mlp=ROWS.genre_mlp, knn=ROWS.genre_knn):
    """Inference time of the MLP against KNN on the same test tracks."""
    ours, theirs = find(mlp_rows, model=mlp)["inference seconds"], find(mlp_rows, model=knn)["inference seconds"]
    return (f"the MLP predicts all test tracks in {number(ours, 2)} s, {ratio_words(ours, theirs, 'as long')} KNN "
            f"({number(theirs, 1)} s)")


def zeros_sentence(comparison, paired):
    """Hamming accuracy of the MLP against predicting no label at all, paired per customer."""
    mlp, zeros = find(comparison, model=ROWS.mlp), find(comparison, model=ROWS.no_label)
    ours, none = mlp["hamming_accuracy"], zeros["hamming_accuracy"]
    return (f"the MLP's Hamming accuracy ({number(ours)}) is {verdict(paired)} that of predicting no label at "
            f"all ({number(none)}; {interval_text(paired, as_points=True)})")


def gradient_sentence(rows):
    """'the largest relative difference is 2.6e-09, so backpropagation is right' (a wrong derivative gives ≥ 1e-2)."""
    largest = max(row["relative_diff"] for row in rows)
    verdict = "backpropagation is right" if largest < 1e-6 else "backpropagation needs checking"
    return f"the largest relative difference is {number(largest)}, so {verdict}"


def zero_recall_classes(rows):
    missed = [row["quality"] for row in rows if row["recall"] == 0]
    return listing(missed) if missed else "no quality"


def original_table(r1, r2, r3, r4):
    """The original's figures beside ours, one row per figure, each pair the same quantity where one exists."""
    o = ORIGINAL
    test_run = find(r2["test_run"]["scores"], split="test")
    housing = find(r2["test"]["comparison"], model=ROWS.mlp)
    ae = find(r4["reduction"]["table"], method=ROWS.code)
    knn = {row["features"]: row for row in r4["knn"]}
    multilabel = find(r1["multilabel"]["comparison"], model=ROWS.mlp)
    best_epoch = r1["sweep"]["max_best_val_accuracy"]
    implied_variance = o["autoencoder"]["test_mse"] / (1 - o["autoencoder"]["test_r2"])
    rows = [
        ("2.2", "wine test run ([20, 20] tanh), test accuracy", number(o["wine_test_run"]["test_accuracy"]),
         number(r1["test_run"]["test_accuracy"]), "same configuration, different split and initialisation"),
        ("2.2", "wine test run, training accuracy / epoch at which early stopping ended the run",
         f"{number(o['wine_test_run']['train_accuracy'])} / {o['wine_test_run']['early_stop_epoch']}",
         f"{number(r1['test_run']['train_accuracy'])} / {r1['test_run']['epochs_run']}",
         "same configuration and patience, different split and initialisation"),
        ("2.2", "gradient check, relative difference",
         f"{number(o['gradient_check']['relative_diff_low'])} to {number(o['gradient_check']['relative_diff_high'])}",
         f"up to {number(max(row['relative_diff'] for row in r1['gradient_check']))}",
         "a wrong derivative would show about 1e-2; the size depends on ε and the rows used"),
        ("2.3", "best validation accuracy in the sweep (the original's best_val_acc)",
         f"{number(o['wine_sweep_best']['val_accuracy'])} ({config_text(o['wine_sweep_best'])})",
         f"{number(r1['sweep']['top20'][0]['val_accuracy'])} ({config_text(r1['sweep']['best_by_validation'])})",
         "the same quantity: in every row of the original's table best_val_acc equals its final validation "
         f"accuracy, the kept weights' (ours picked at the best epoch would be {number(best_epoch['value'])})"),
        ("3.3", "best validation R² in the housing sweep",
         f"{number(o['housing_sweep_best']['val_r2'])} ({config_text(o['housing_sweep_best'])})",
         f"{number(r2['sweep']['top20'][0]['val_r2'])} ({config_text(r2['sweep']['best_by_validation'])})",
         "different validation parts of about fifty tracts"),
        ("2.4", "selected wine model, test accuracy", number(o["wine_selected"]["test_accuracy"]),
         f"{number(r1['test']['scores']['accuracy'])} (seed 0; mean over seeds "
         f"{number(find(r1['over_seeds']['summary'], model=ROWS.mlp)['mean'])})",
         "different selected configuration"),
        ("2.6", "multi-label \"accuracy\" (single labels right)", number(o["multilabel"]["test_accuracy"]),
         f"{number(multilabel['hamming_accuracy'])} (predicting no label: "
         f"{number(find(r1['multilabel']['comparison'], model=ROWS.no_label)['hamming_accuracy'])})",
         "the same measure, which flatters every model; exact match and F1 are in section 2.6"),
        ("3.2", "regression gradient check, relative difference",
         number(o["housing_gradient_check"]["relative_diff"]),
         f"up to {number(max(row['relative_diff'] for row in r2['gradient_check']))}",
         "by the rule of section 2.2 (about 1e-2 means a wrong derivative) the original's figure signals a bug in "
         "its regression gradients"),
        ("3.2", "housing test run, test MSE / MAE / R² (standardised MEDV)",
         " / ".join(number(o["housing_test_run"][key]) for key in ("test_mse", "test_mae", "test_r2")),
         " / ".join(number(test_run[key]) for key in ("mse (std units)", "mae (std units)", "r2")),
         "MSE and MAE in units of the target's standard deviation in both"),
        ("3.4", "the original's selected housing model ([32, 32] sigmoid SGD, our test run's configuration), "
                "test MSE / MAE / R²",
         " / ".join(number(o["housing_selected"][key]) for key in ("test_mse", "test_mae", "test_r2")),
         " / ".join(number(test_run[key]) for key in ("mse (std units)", "mae (std units)", "r2")),
         "same configuration (our section 3.2 run), different split; about fifty test tracts each"),
        ("3.4", "our selected housing model, test MSE / MAE / R² (standardised MEDV)", "—",
         " / ".join(number(housing[key]) for key in ("mse (std units)", "mae (std units)", "r2")),
         "selected by our sweep and cross-validation"),
        ("4.2", "autoencoder, train / test R²",
         f"{number(o['autoencoder']['train_r2'])} / {number(o['autoencoder']['test_r2'])}",
         f"{number(ae['train R²'])} / {number(ae['test R²'])}", "same architecture; our code layer is linear"),
        ("4.2", "autoencoder, train / test MSE per feature",
         f"{number(o['autoencoder']['train_mse'])} / {number(o['autoencoder']['test_mse'])}",
         f"{number(ae['train MSE'])} / {number(ae['test MSE'])}",
         f"not comparable: the original's MSE and R² imply a feature variance of {number(implied_variance, 2)}, "
         "ours are standardised (variance one)"),
        ("4.3", "KNN accuracy (seconds): full / autoencoder / PCA 7-d",
         f"{number(o['knn']['full_accuracy'])} ({number(o['knn']['full_seconds'], 1)}) / "
         f"{number(o['knn']['autoencoder_accuracy'])} ({number(o['knn']['autoencoder_seconds'], 1)}) / "
         f"{number(o['knn']['pca7_accuracy'])} ({number(o['knn']['pca7_seconds'], 1)})",
         " / ".join(f"{number(knn[name]['accuracy'])} ({number(knn[name]['inference seconds'], 1)})"
                    for name in (ROWS.full, ROWS.code, ROWS.small_pca)),
         "same k and metric; the seconds come from other machines and implementations, not comparable"),
        ("4.4", "Spotify MLP, test accuracy", number(o["spotify_mlp"]["accuracy"]),
         number(find(r4["mlp"], model=ROWS.genre_mlp)["accuracy"]), "different architecture and training budget"),
    ]
    return markdown_table([dict(zip(["section", "figure", "original", "this project", "why they differ"], row))
                           for row in rows])


def original_inconsistencies():
    """What the original's own figures say about themselves (from original_figures.json)."""
    o = ORIGINAL
    validation_wines = round(1 / (o["wine_sweep_best"]["val_accuracy"] - o["wine_sweep_runner_up"]["val_accuracy"]))
    return "\n".join([
        f"- Section 2.4's selected model scores a test accuracy of {number(o['wine_selected']['test_accuracy'], 4)}, "
        f"the same to the printed digits as section 2.2's test run ({number(o['wine_test_run']['test_accuracy'], 4)}), "
        f"although its training accuracy differs ({number(o['wine_selected']['train_accuracy'])} against "
        f"{number(o['wine_test_run']['train_accuracy'])}) and its configuration is another; possible on "
        f"{o['wine_selected']['test_rows']} test wines, but worth checking.",
        f"- The sweep's validation accuracies are multiples of one in {validation_wines} (e.g. "
        f"{number(o['wine_sweep_best']['val_accuracy'], 5)} and "
        f"{number(o['wine_sweep_runner_up']['val_accuracy'], 5)}), while its test part has "
        f"{o['wine_selected']['test_rows']} wines: the sweep validated on a part "
        f"{ratio_words(validation_wines, o['wine_selected']['test_rows'], 'as large')} the test part, not on the split "
        "the report describes.",
        f"- Section 4.4 calls the MLP's accuracy similar to KNN's; by the original's own figures it is "
        f"{points(o['knn']['full_accuracy'] - o['spotify_mlp']['accuracy'])} "
        f"{above_below(o['spotify_mlp']['accuracy'], o['knn']['full_accuracy'])} it."])


def original_claims(r1, r2, r3, r4):
    """The original's claims, each with our verdict and the section holding the evidence (not repeated here)."""
    weights = LEVER_VERDICTS[find(r1["tabular_levers"]["table"], lever="balanced class weights")["verdict"]].format(
        "the selected configuration")
    claims = [f"{check['claim']}: {housing_claims([check])[0].rsplit(' — ', 1)[1]}" for check in r2["sweep"]["claims"]]
    mlp_minus_knn = r4["paired"][ROWS.genre_knn]
    return "\n".join([
        f"- Section 3.6, MSE converges faster than BCE: the evidence of our loss curves over seeds "
        f"{support_word(flipped(r3['decay']['comparison']))} it (section 3.5).",
        f"- Section 3.3, the housing sweep: {'; '.join(claims)} (section 3.3, paired over matched trainings).",
        f"- Section 2.6, multi-label accuracy of {number(ORIGINAL['multilabel']['test_accuracy'])}: the fraction of "
        f"single labels right; on our split predicting no label at all scores "
        f"{number(find(r1['multilabel']['comparison'], model=ROWS.no_label)['hamming_accuracy'])} by it, so the "
        "measure says little (section 2.6).",
        f"- Section 2.7, the rare qualities are classified poorly: ours recognise "
        f"{zero_recall_classes(r1['per_class_analysis'])} never, as the original says; its reason (too few "
        f"examples) is not tested by the original, and balanced class weights, scored on accuracy, are {weights} "
        "in cross-validation (section 2.8), which does not measure the rare classes' recall.",
        f"- Section 4.4, the MLP's accuracy is similar to KNN's: ours is {verdict(mlp_minus_knn)} KNN's "
        f"({interval_text(mlp_minus_knn, as_points=True)}; section 4.4).",
        f"- Section 4.4, the MLP predicts fast once trained: {speed_sentence(r4['mlp'])} (section 4.4).",
        "- Not compared: the original's validation figures of sections 2.6 and 3.4 and its KNN timing claims "
        "(its own split and machine), and its analysis of section 3.6 on where MSE is high, which describes "
        "curves the original does not show."])


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
    """Training and test accuracy side by side (different rows, so no verdict)."""
    return (f"Training accuracy {number(train)}, test accuracy {number(test)} (training minus test "
            f"{signed(train - test, 100, 1)} points; on different rows, so not a paired comparison)")


def lowest_loss_value(curves):
    """The value whose curve reached the lowest validation loss ('activation=relu' → 'relu')."""
    label = min(curves, key=lambda label: curves[label]["min_val_loss"])
    return label.split("=", 1)[1]




def precision_recall_sentence(comparison):
    """'micro-averaged precision (0.854) is higher than recall (0.399)' for the multi-label MLP."""
    mlp = find(comparison, model=ROWS.mlp)
    precision, recall = mlp["precision_micro"], mlp["recall_micro"]
    return (f"micro-averaged precision ({number(precision)}) is {higher_lower(precision, recall)} recall "
            f"({number(recall)})")


def cap_sentence(hardest, describe):
    """How many of the hardest houses sit at the MEDV cap."""
    cap = find(describe, column="MEDV")["max"]
    at_cap = sum(row["MEDV"] >= cap for row in hardest)
    return f"{at_cap} of the {len(hardest)} are at the MEDV cap of {number(cap, 1)}"


def reduction_sentence(knn, paired, paired_r2):
    """What each reduced representation costs KNN against the full features, and whether the autoencoder's code
    and PCA rank the same way in KNN accuracy as in reconstruction R² (paired on the test tracks)."""
    reduced = [row["features"] for row in knn if row["features"] != ROWS.full]
    lower = [name for name in reduced if paired[name]["low"] > 0]
    which = ("every reduction" if len(lower) == len(reduced)
             else f"{listing(lower) if lower else 'none'} of the reductions")
    cost = f"KNN is less accurate than on the full features beyond noise on {which}"
    code_minus_pca = paired["code minus pca"]
    order = ""
    if verdict(code_minus_pca) != WITHIN_NOISE and verdict(paired_r2) != WITHIN_NOISE:
        order = (", in the order of their reconstruction R²" if verdict(code_minus_pca) == verdict(paired_r2)
                 else ", against the order of their reconstruction R²")
    accuracy = {row["features"]: row["accuracy"] for row in knn}
    return (f"{cost}; at the same size the autoencoder code's KNN accuracy ({number(accuracy[ROWS.code])}) is "
            f"{verdict(code_minus_pca)} PCA's ({number(accuracy[ROWS.pca])}; "
            f"{interval_text(code_minus_pca, as_points=True)}){order}")


def ceiling_sentence(mlp_rows, ceiling):
    """'the best method of this table (MLP on full 15-d, 0.322) is 64.1 points below the duplicate ceiling
    (0.963)'."""
    best = max(mlp_rows, key=lambda row: row["accuracy"])
    return (f"the best method of this table ({best['model']}, {number(best['accuracy'])}) is "
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




def _twin_parts(twins):
    """(the twins' part, the whole) of the forest-minus-MLP difference over all test wines, each part a subset's
    difference times its share of the rows."""
    lead = twins["forest_lead"]
    share = twins["test_with_twin"] / twins["test_rows"]
    from_twins = share * lead["with a twin"]["difference"]
    return from_twins, from_twins + (1 - share) * lead["without a twin"]["difference"]


def twins_sentence(twins):
    """What identical wines contribute to the forest's lead: 1-NN, forest and MLP with and without a test twin."""
    accuracy = {row["model"]: row for row in twins["table"]}
    lead = twins["forest_lead"]
    from_twins, total = _twin_parts(twins)
    return (f"Identical wines. {twins['rows_in_groups']} of the {twins['wines']} wines belong to {twins['groups']} "
            f"groups of identical measurements, {'always' if twins['groups_share_quality'] else 'not always'} with "
            f"the same quality, and {twins['test_with_twin']} of the {twins['test_rows']} test wines have such a twin "
            "among the other rows. On those, 1-nearest neighbour — which looks the twin up — scores "
            f"{number(accuracy[ROWS.one_nn]['with a twin'])}, the forest "
            f"{number(accuracy[ROWS.forest]['with a twin'])} "
            f"and the MLP {number(accuracy[ROWS.mlp]['with a twin'])}; without a twin they score "
            f"{number(accuracy[ROWS.one_nn]['without a twin'])}, {number(accuracy[ROWS.forest]['without a twin'])} and "
            f"{number(accuracy[ROWS.mlp]['without a twin'])}. On the wines with a twin the forest is "
            f"{verdict(lead['with a twin'])} the MLP ({interval_text(lead['with a twin'], as_points=True)}); on those "
            f"without it is {verdict(lead['without a twin'])} it "
            f"({interval_text(lead['without a twin'], as_points=True)}). The forest minus the MLP over all test wines "
            f"({signed(total, 100, 1)} points) is the twins' part ({signed(from_twins, 100, 1)}) plus the others'. "
            "The twins also cross the split the selection used: a test wine's twin can sit in the training or "
            "validation rows, which is why the scores without a twin are the fairer comparison.")


def ensemble_row(r1):
    """The headline's ensemble figure, when the ensemble was used."""
    rows = [row for row in r1["over_seeds"]["summary"] if row["model"].startswith("this MLP, ensemble")]
    return f"; ensemble of {r1['levers']['members']} seeds {plus_minus(rows[0])}" if rows else ""


def knn_time_sentence(knn, full_dims=15, reduced=ROWS.pca, reduced_dims=9):
    """Do KNN's inference times fall in proportion to the number of dimensions?"""
    full = find(knn, features=ROWS.full)["inference seconds"]
    small = find(knn, features=reduced)["inference seconds"]
    time_share, dims_share = small / full, reduced_dims / full_dims
    verdict = "less than" if time_share > dims_share else "at least as much as"
    return (f"{reduced} takes {time_share:.0%} of the full features' inference time with {dims_share:.0%} of their "
            f"dimensions: the time falls {verdict} the dimensions")


# How a sentence names a model of a paired comparison (a table names it in full).
READING_NAMES = {ROWS.mlp: "the selected MLP", ROWS.genre_mlp: "the selected MLP", ROWS.forest: "the random forest",
                 ROWS.genre_forest: "the random forest", ROWS.sklearn_mlp: "scikit-learn's MLP",
                 ROWS.linear: "linear regression"}
LEVER_VERDICTS = {"ahead": "ahead of {} beyond noise", "behind": "behind {} beyond noise",
                  "within noise": "within noise of {}", "identical": "identical to {} on every fold"}


def _verdict_groups(groups, reference):
    """'ahead of <reference> beyond noise: a and b; behind it beyond noise: c; …' from {verdict: names}, in
    LEVER_VERDICTS' order, only the verdicts that have names (the reference is named once, where it first
    appears)."""
    parts = []
    for word, phrase in LEVER_VERDICTS.items():
        if groups.get(word):
            parts.append(f"{phrase.format(reference)}: {listing(groups[word])}")
            reference = "it"
    return "; ".join(parts)


def recipe_test_text(levers, metric="accuracy"):
    """'its accuracy is 0.340, above the random forest (0.317; recipe minus the random forest +2.4 points, …)':
    the recipe's one test run against the models it was compared with there."""
    means = {row["model"]: row["mean"] for row in levers["test"]["summary"]}
    against = [f"{verdict(comparison)} {READING_NAMES.get(name, name)} ({number(means[name])}; recipe minus "
               f"{READING_NAMES.get(name, name)} {interval_text(comparison, as_points=metric == 'accuracy')})"
               for name, comparison in levers["test"]["paired"].items()]
    return f"its {metric} is {number(means[levers['recipe']])}, {listing(against)}"


def recipe_sentence(levers, metric="accuracy"):
    """The levers by verdict against the model they change (cross-validated; the table's first row), the recipe,
    and how the recipe did on the test part if it went there."""
    base = levers["table"][0]["lever"]          # lever_comparison's first row: the model the levers change
    groups = {}
    for row in levers["table"][1:]:
        name = "their combination" if row["lever"].startswith("combination (") else row["lever"]
        groups.setdefault(row["verdict"], []).append(name)
    combined = [row["lever"] for row in levers["table"] if row["lever"].startswith("combination (")]
    members = (f" (the combination: the levers with a positive mean difference, "
               f"{combined[0].removeprefix('combination (').removesuffix(')')})" if combined else "")
    recipe = levers["recipe"]
    if recipe == base:
        outcome = f"so the {base} stays"
    else:
        outcome = (f"so the recipe is {'the combination' if recipe.startswith('combination (') else recipe}, which "
                   "goes to the test part once")
    if "test" in levers:
        outcome += f"; there {recipe_test_text(levers, metric)}"
    described = _verdict_groups(groups, f"the {base}") + members
    return f"{described[0].upper()}{described[1:]}. {outcome[0].upper()}{outcome[1:]}"


def _headline_paired(label, comparison, metric_is_accuracy=True):
    """'MLP − forest −5.0 points (95 % interval −8.8 to −1.2): below'."""
    scale, digits, unit = (100, 1, " points") if metric_is_accuracy else (1, 3, "")
    return (f"{label} {signed(comparison['difference'], scale, digits)}{unit} (95 % interval "
            f"{signed(comparison['low'], scale, digits)} to {signed(comparison['high'], scale, digits)}): "
            f"{verdict(comparison, 'above', 'below', 'within noise')}")


def recipe_headline(results, forest, metric_is_accuracy=True):
    """The headline's additions where a levers recipe reached the test rows: (its score, its paired comparison with
    the random forest); empty strings elsewhere."""
    levers = results.get("tabular_levers", {})
    if "test" not in levers:
        return "", ""
    recipe = find(levers["test"]["summary"], model=levers["recipe"])
    score = plus_minus(recipe) if "std" in recipe else number(recipe["mean"])
    return (f"; with the levers recipe {score}",
            "; " + _headline_paired("recipe − forest", levers["test"]["paired"][forest], metric_is_accuracy))


def headline_table(wine, housing, diabetes, spotify):
    """The report's (and README's) headline: one row per task — how it is measured (means over seeds on one fixed
    test part, or a single split), ours, the baselines on the same rows, and the MLP against the random forest,
    paired, with the noise rule."""
    multilabel = wine["multilabel"]
    labels = {row["model"]: row for row in multilabel["comparison"]}
    logistic = diabetes["over_seeds"]["summary"]
    knn, mlp_rows = {row["features"]: row for row in spotify["knn"]}, {row["model"]: row for row in spotify["mlp"]}
    reduction = {row["method"]: row for row in spotify["reduction"]["table"]}
    seeds = (f"{wine['over_seeds']['seeds']} seeds, {wine['over_seeds']['test_rows']} test wines")
    rows = [
        ("Wine quality: test accuracy", seeds, plus_minus(find(wine["over_seeds"]["summary"], model=ROWS.mlp))
         + ensemble_row(wine) + recipe_headline(wine, ROWS.forest)[0],
         f"scikit-learn MLP {plus_minus(find(wine['over_seeds']['summary'], model=ROWS.sklearn_mlp))}; random forest "
         f"{plus_minus(find(wine['over_seeds']['summary'], model=ROWS.forest))}; majority class "
         f"{number(find(wine['over_seeds']['summary'], model=ROWS.majority)['mean'])}",
         _headline_paired("MLP − forest", wine["over_seeds"]["paired"][ROWS.forest])
         + recipe_headline(wine, ROWS.forest)[1]),
        (f"Advertisement, {multilabel['labels']} labels: exact match / micro-F1",
         f"one split, {multilabel['test_rows']} test customers",
         f"{number(labels[ROWS.mlp]['exact_match'])} / {number(labels[ROWS.mlp]['f1_micro'])}",
         f"random forest {number(labels[ROWS.forest]['exact_match'])} / {number(labels[ROWS.forest]['f1_micro'])}; "
         f"no label {number(labels[ROWS.no_label]['exact_match'])} / {number(labels[ROWS.no_label]['f1_micro'])}",
         _headline_paired("MLP − forest, exact match", multilabel["paired_exact_match"][ROWS.forest])),
        ("Housing: test R²",
         f"{housing['over_seeds']['seeds']} seeds, {housing['over_seeds']['test_rows']} test tracts",
         plus_minus(find(housing["over_seeds"]["r2"], model=ROWS.mlp))
         + recipe_headline(housing, ROWS.forest, False)[0],
         f"scikit-learn MLP {plus_minus(find(housing['over_seeds']['r2'], model=ROWS.sklearn_mlp))}; random forest "
         f"{plus_minus(find(housing['over_seeds']['r2'], model=ROWS.forest))}; linear regression "
         f"{plus_minus(find(housing['over_seeds']['r2'], model=ROWS.linear))}",
         _headline_paired("MLP − forest", housing["over_seeds"]["paired"][ROWS.forest], False)
         + recipe_headline(housing, ROWS.forest, False)[1]),
        ("Diabetes: test accuracy of logistic regression",
         f"{diabetes['over_seeds']['seeds']} seeds, {diabetes['over_seeds']['test_rows']} test patients",
         f"BCE {plus_minus(logistic['MLP logistic, binary_cross_entropy']['accuracy'])}; MSE "
         f"{plus_minus(logistic['MLP logistic, mse']['accuracy'])}" + recipe_headline(diabetes, ROWS.forest)[0],
         f"scikit-learn LogisticRegression {plus_minus(logistic['scikit-learn LogisticRegression']['accuracy'])}; "
         f"random forest {plus_minus(logistic[ROWS.forest]['accuracy'])}; majority class "
         f"{number(1 - diabetes['outcome_rate'])}",
         _headline_paired("BCE − forest", diabetes["over_seeds"]["paired"][ROWS.forest])
         + recipe_headline(diabetes, ROWS.forest)[1]),
        (f"Spotify: autoencoder test reconstruction R² (code of {spotify['reduction']['reduced_shape'][1]})",
         f"one split, {spotify['shapes']['test'][0]} test tracks", number(reduction[ROWS.code]["test R²"]),
         f"PCA {number(reduction[ROWS.pca]['test R²'])}", "—"),
        (f"Spotify, {spotify['genres']} genres: test accuracy, KNN (k = {spotify['knn_config']['k']})",
         f"one split, {spotify['shapes']['test'][0]} test tracks",
         f"full features {number(knn[ROWS.full]['accuracy'])}; autoencoder code "
         f"{number(knn[ROWS.code]['accuracy'])}",
         f"scikit-learn KNN {number(spotify['knn_sklearn']['accuracy'])}; "
         + "; ".join(f"{name} {number(row['accuracy'])}" for name, row in knn.items() if name.startswith("PCA"))
         + f"; chance {number(spotify['chance'])}", "—"),
        (f"Spotify, {spotify['genres']} genres: test accuracy, MLP", f"one split, {spotify['shapes']['test'][0]} "
         "test tracks", number(mlp_rows[ROWS.genre_mlp]["accuracy"]) + recipe_headline(spotify, ROWS.genre_forest)[0],
         f"random forest {number(mlp_rows[ROWS.genre_forest]['accuracy'])}; KNN "
         f"{number(mlp_rows[ROWS.genre_knn]['accuracy'])}; chance {number(spotify['chance'])}; ceiling set by "
         f"duplicate tracks {number(spotify['duplicates']['test_accuracy_ceiling'])}",
         _headline_paired("MLP − forest", spotify["paired"][ROWS.genre_forest])
         + recipe_headline(spotify, ROWS.genre_forest)[1])]
    header = ("| task | measured on | this project | baselines on the same rows | the MLP against the random "
              "forest, paired |\n|---|---|---|---|---|\n")
    return header + "\n".join("| " + " | ".join(row) + " |" for row in rows)


def lever_verdicts(wine, housing, diabetes, spotify):
    """Every lever cross-validated against its data set's selected (or plain) model: {'lever (data set)': 'ahead',
    'behind', 'within noise' or 'identical'}."""
    return {f"{row['lever']} ({name})": row["verdict"]
            for name, results in (("wine", wine), ("housing", housing), ("diabetes", diabetes), ("Spotify", spotify))
            for row in results["tabular_levers"]["table"][1:]}


def levers_conclusion(wine, housing, diabetes, spotify):
    """The levers across the data sets: how many cross-validation put ahead, behind or within noise of the model
    they change (or left identical), and how any recipe did on the test rows."""
    verdicts = lever_verdicts(wine, housing, diabetes, spotify)
    counts = {word: [name for name, said in verdicts.items() if said == word] for word in LEVER_VERDICTS}
    tested = [f"{name}'s recipe went to the test rows, where {recipe_test_text(results['tabular_levers'], metric)}"
              for name, results, metric in (("wine", wine, "accuracy"), ("housing", housing, "R²"),
                                            ("diabetes", diabetes, "accuracy"), ("Spotify", spotify, "accuracy"))
              if "test" in results["tabular_levers"]]
    return (f"- Levers: of {len(verdicts)} levers and combinations cross-validated on the non-test rows, "
            f"{len(counts['ahead'])} {'is' if len(counts['ahead']) == 1 else 'are'} ahead of the model they change "
            f"beyond noise" + (f" ({listing(counts['ahead'])})" if counts["ahead"] else "")
            + f", {len(counts['behind'])} behind it" + (f" ({listing(counts['behind'])})" if counts["behind"] else "")
            + f", {len(counts['within noise'])} within noise and {len(counts['identical'])} identical to it on every "
            "fold; " + ("; ".join(tested) + "." if tested else "so no recipe went to the test rows, and the selected "
                        "models stand."))


def conclusions(wine, housing, diabetes, spotify):
    """The report's conclusions, one bullet per finding, each worded by the noise rule from the results."""
    wine_forest = wine["over_seeds"]["paired"][ROWS.forest]
    housing_forest = housing["over_seeds"]["paired"][ROWS.forest]
    logistic = diabetes["over_seeds"]["paired"]["scikit-learn LogisticRegression"]
    reduction = {row["method"]: row["test R²"] for row in spotify["reduction"]["table"]}
    knn = {row["features"]: row["accuracy"] for row in spotify["knn"]}
    gradient = max(row["relative_diff"] for source in (wine, housing) for row in source["gradient_check"])
    return "\n".join([
        f"- The engine where it can be checked: {gradient_sentence([{'relative_diff': gradient}])} (central "
        "differences), and the KNN agrees with scikit-learn's on "
        f"{number(100 * spotify['knn_sklearn']['agreement_with_ours'], 2)} % of the test tracks (the rest are ties).",
        f"- Wine: the selected MLP is {verdict(wine_forest)} the random forest "
        f"({interval_text(wine_forest, as_points=True)}). {twins_share_sentence(wine['twins'])}",
        f"- Housing: the selected MLP's R² is {verdict(housing_forest)} the random forest's "
        f"({interval_text(housing_forest)}).",
        f"- Diabetes: logistic regression trained with BCE is {verdict(logistic)} scikit-learn's LogisticRegression "
        f"({interval_text(logistic, as_points=True)}); on the original's claim that MSE converges faster, the "
        f"evidence of our runs {support_word(flipped(diabetes['decay']['comparison']))} it.",
        f"- Spotify: the autoencoder's test reconstruction R² is "
        f"{verdict(spotify['reduction']['paired_r2'])} PCA's at the same size "
        f"({number(reduction[ROWS.code])} against {number(reduction[ROWS.pca])}), and KNN on its code is "
        f"{verdict(spotify['knn_paired']['code minus pca'])} KNN on PCA's ({number(knn[ROWS.code])} against "
        f"{number(knn[ROWS.pca])}); the MLP is {verdict(spotify['paired'][ROWS.genre_forest])} the random forest "
        f"({interval_text(spotify['paired'][ROWS.genre_forest], as_points=True)}) and "
        f"{verdict(spotify['paired'][ROWS.genre_knn])} KNN, far from the ceiling of "
        f"{number(spotify['duplicates']['test_accuracy_ceiling'])} that duplicate tracks allow.",
        levers_conclusion(wine, housing, diabetes, spotify)])


def twins_share_sentence(twins):
    """The part of the forest's wine lead that comes from test wines with an identical twin."""
    lead = twins["forest_lead"]
    from_twins, total = _twin_parts(twins)
    return (f"On the {twins['test_with_twin']} test wines with an identical twin among the other rows the forest "
            f"is {verdict(lead['with a twin'])} the MLP ({interval_text(lead['with a twin'], as_points=True)}), on "
            f"the others {verdict(lead['without a twin'])} it "
            f"({interval_text(lead['without a twin'], as_points=True)}); over all test wines the twins' part of the "
            f"forest-minus-MLP difference is {signed(from_twins, 100, 1)} of {signed(total, 100, 1)} points.")
