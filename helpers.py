"""The engine of the report: data, maths, models and experiment running, all from scratch in NumPy.

Read top-down:
  1. paths and run mode        QUICK switch shared by every notebook; the notebooks' running order
  2. files                     atomic writes, results files; journals keyed by data and code, so work resumes
  3. data                      Rows (a data set before any split), loaders of the five CSVs, Split and make_split
  4. input checks              arrays and constructor parameters → a clear ValueError when wrong
  5. activations and losses    tiny functions in registries keyed by name
  6. optimizers                update rules: gradient descent, momentum, Adam
  7. metrics                   scores, paired and corrected intervals (the noise rule's statistics)
  8. MLP                       one class for classification, multi-label and regression, + levers and target views
  9. AutoEncoder               an MLP trained to reproduce its input
 10. PCA                       the linear baseline for the autoencoder
 11. KNN                       exact brute-force nearest neighbours, fast
 12. baselines                 the simplest rules: a threshold on one feature, a lookup by one input's value
 13. model builders            the MLP a sweep configuration describes and its scikit-learn twin
 14. experiment running        W&B grid sweeps in parallel, journaled; cross-validated selection; levers; curves
 15. all rows                  repeated cross-validation, every model on the same folds, selection nested
     (the end of the engine: everything above keys the caches, code_fingerprint)
 16. reading results           the sweep's effects, the original's claims on it, curve summaries
 17. report outputs            figures, results files, the sections' summaries
 18. wording                   number, signed, interval, verdict, tables; the original's figures by line
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

def report_notebooks(folder=None):
    """The report's notebooks (notebooks/NN_*.ipynb) in the order they run: by number, and a summary
    (NN_summary.ipynb) last whatever its number, since it reads every other notebook's results."""
    return sorted(Path(folder or PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"),
                  key=lambda path: (path.stem.endswith("_summary"), path.name))


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
        labels = value.columns if isinstance(value, pd.DataFrame) else [value.name]
        hasher.update(f"frame {list(map(str, labels))}".encode())
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


@dataclass
class Rows:
    """All rows of a data set before any split: the features as they come (a DataFrame, or an array), the target,
    the task, and the preprocessing that every split fits on its training rows only (an unfitted transformer; None
    leaves the features as they are). `stratify` keeps class proportions in every part (default: for classes);
    `ids` identifies rows (e.g. Spotify's track ids); `label_names` names a multi-label target's columns.
    Any data set fits: a CSV's loader, scikit-learn's `load_*` functions, generated data."""

    X: object
    y: np.ndarray
    task: str = "classification"
    preprocess: object = None
    stratify: bool | None = None
    ids: np.ndarray | None = None
    label_names: list | None = None

    def __post_init__(self):
        if self.task not in ("classification", "multilabel", "regression"):
            raise ValueError(f"Rows task must be 'classification', 'multilabel' or 'regression'; got {self.task!r}.")
        self.X = self.X if isinstance(self.X, pd.DataFrame) else pd.DataFrame(np.asarray(self.X))
        self.X.columns = [str(column) for column in self.X.columns]
        self.y = np.asarray(self.y)
        check_same_length(self.X, self.y)
        if self.stratify is None:
            self.stratify = self.task == "classification"


def standardiser():
    """Every feature centred and scaled by its training rows' mean and standard deviation."""
    from sklearn.preprocessing import StandardScaler
    return StandardScaler()


def make_split(rows, seed=0, test_seed=0):
    """The 80/10/10 Split of `rows` (train_val_test_split; `seed` partitions the non-test rows, `test_seed` picks
    the test part), its preprocessing fitted on the training part only; a regression target is standardised on the
    training part too (`split.to_units` undoes it), so that one learning rate suits every configuration."""
    extra = [] if rows.ids is None else [rows.ids]
    (X_train, X_val, X_test), (y_train, y_val, y_test), *id_parts = train_val_test_split(
        rows.X, rows.y, *extra, seed=seed, test_seed=test_seed, stratify=rows.y if rows.stratify else None)
    transformer = None if rows.preprocess is None else clone(rows.preprocess).fit(X_train)
    transformed = [np.asarray(part if transformer is None else transformer.transform(part), dtype=float)
                   for part in (X_train, X_val, X_test)]
    names = list(rows.X.columns) if transformer is None else [str(name) for name in transformer.get_feature_names_out()]
    split = Split(*transformed, y_train, y_val, y_test, names, transformer,
                  ids=dict(zip(("train", "val", "test"), id_parts[0])) if id_parts else None,
                  raw={"train": X_train, "val": X_val, "test": X_test}, label_names=rows.label_names)
    if rows.task != "regression":
        return split
    mean, std = float(y_train.mean()), float(y_train.std())
    return replace(split, y_train=(y_train - mean) / std, y_val=(y_val - mean) / std, y_test=(y_test - mean) / std,
                   target_mean=mean, target_std=std)


def _imputed_and_standardised(columns, binary_columns=()):
    """Missing values filled with the training rows' median (the most frequent value for 0/1 columns, so they stay
    0/1), then standardised; output columns keep their names."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    continuous = [column for column in columns if column not in binary_columns]
    return ColumnTransformer([
        ("continuous", make_pipeline(SimpleImputer(strategy="median"), standardiser()), continuous),
        ("binary", make_pipeline(SimpleImputer(strategy="most_frequent"), standardiser()), list(binary_columns)),
    ], verbose_feature_names_out=False)


def wine_rows():
    """WineQT without `Id` (a row number): 11 physico-chemical features, `quality` labels 3-8, standardised.
    Stratified because qualities 3 and 8 are rare (≈1 % of rows) and an unstratified 10 % part could miss them."""
    wine = load_wine()
    return Rows(wine.drop(columns=["Id", "quality"]), wine["quality"].to_numpy(), "classification", standardiser())


def housing_rows():
    """HousingData: gaps filled (median; CHAS, a 0/1 flag, by its mode) and standardised; the target MEDV
    ($1000s) is standardised by every split (`split.to_units` converts back)."""
    housing = load_housing()
    features = housing.drop(columns=["MEDV"])
    return Rows(features, housing["MEDV"].to_numpy(float), "regression",
                _imputed_and_standardised(features.columns, binary_columns=("CHAS",)))


DIABETES_ZERO_MEANS_MISSING = ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"]


def diabetes_rows():
    """Pima diabetes: zeros in Glucose, BloodPressure, SkinThickness, Insulin, BMI are missing measurements →
    NaN → the training rows' median; standardised; label `Outcome` 0/1."""
    diabetes = load_diabetes()
    features = diabetes.drop(columns=["Outcome"])
    features[DIABETES_ZERO_MEANS_MISSING] = features[DIABETES_ZERO_MEANS_MISSING].replace(0, np.nan)
    return Rows(features, diabetes["Outcome"].to_numpy(), "classification", _imputed_and_standardised(features.columns))


ADVERTISEMENT_NUMERIC = ["age", "income", "children", "purchase_amount"]
ADVERTISEMENT_CATEGORICAL = ["gender", "education", "married", "occupation", "most bought item"]


def advertisement_rows():
    """advertisement.csv as a multi-label problem: numeric columns standardised, categorical columns one-hot encoded
    (categories learnt on the training rows), `city` dropped (969 distinct values in 1000 rows: an identifier, not a
    feature that generalises), `labels` → a 0/1 matrix over the 8 categories (`label_names`)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MultiLabelBinarizer, OneHotEncoder
    ads = load_advertisement()
    binarizer = MultiLabelBinarizer()
    labels = binarizer.fit_transform(ads["labels"].str.split())
    features = ads[ADVERTISEMENT_NUMERIC + ADVERTISEMENT_CATEGORICAL].astype({"married": str})
    encoder = ColumnTransformer([("numeric", standardiser(), ADVERTISEMENT_NUMERIC),
                                 ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                  ADVERTISEMENT_CATEGORICAL)])
    return Rows(features, labels, "multilabel", encoder, label_names=list(binarizer.classes_))


def spotify_rows(n_rows=None, seed=0):
    """Spotify: the 15 SPOTIFY_FEATURES (explicit → 0/1) standardised, label `track_genre`, `track_id` as ids (a
    track listed under several genres appears once per genre). `n_rows` takes a random subsample (quick mode).
    Not stratified: with about a thousand tracks per genre every part holds every genre."""
    spotify = load_spotify()
    if n_rows is not None:
        spotify = spotify.sample(n=n_rows, random_state=seed)
    features = spotify[SPOTIFY_FEATURES].astype({"explicit": int})
    return Rows(features, spotify["track_genre"].to_numpy(), "classification", standardiser(), stratify=False,
                ids=spotify["track_id"].to_numpy())


def wine_split(seed=0):
    """make_split(wine_rows()): 914 / 114 / 115 wines."""
    return make_split(wine_rows(), seed)


def housing_split(seed=0):
    """make_split(housing_rows()): 405 / 51 / 50 tracts, MEDV standardised on the training part."""
    return make_split(housing_rows(), seed)


def diabetes_split(seed=0):
    """make_split(diabetes_rows()): 614 / 77 / 77 patients."""
    return make_split(diabetes_rows(), seed)


def advertisement_split(seed=0):
    """make_split(advertisement_rows()): 800 / 100 / 100 customers."""
    return make_split(advertisement_rows(), seed)


def spotify_split(seed=0, n_rows=None):
    """make_split(spotify_rows(n_rows, seed)): 91 200 / 11 400 / 11 400 tracks (track ids in `split.ids`)."""
    return make_split(spotify_rows(n_rows, seed), seed)


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


def f1_micro(targets, predictions):
    """Micro-averaged F1 of a 0/1 label matrix: 2·TP / (2·TP + FP + FN) over all labels together."""
    true_positives = np.sum((targets == 1) & (predictions == 1))
    wrong = np.sum(targets != predictions)
    return float(2 * true_positives / (2 * true_positives + wrong)) if true_positives + wrong else 1.0


METRICS = {"accuracy": accuracy, "exact_match": accuracy, "hamming_accuracy": hamming_accuracy, "r2": r2,
           "f1_micro": f1_micro}


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


def unpaired_interval(values_a, values_b, over, confidence=0.95):
    """mean(a) − mean(b) of two independent groups with Welch's t-interval (unequal variances)."""
    from scipy import stats
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    variance_a, variance_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    freedom = (variance_a + variance_b) ** 2 / (variance_a ** 2 / (len(a) - 1) + variance_b ** 2 / (len(b) - 1))
    margin = float(stats.t.ppf(0.5 + confidence / 2, freedom) * np.sqrt(variance_a + variance_b))
    difference = float(a.mean() - b.mean())
    return {"difference": difference, "low": difference - margin, "high": difference + margin, "over": over}


def seeds_and_rows_interval(model_scores, baseline_scores, over, confidence=0.95):
    """Model minus baseline on the same rows over several trainings: `model_scores` is (seeds, rows) per-row scores
    (e.g. 1 for a right prediction), `baseline_scores` the same shape or one row of scores. The interval adds the
    spread between seeds, var(seed means)/seeds, to the spread between rows, var(row means)/rows, with
    Welch–Satterthwaite degrees of freedom, so that a verdict holds for another initialisation, not only these."""
    from scipy import stats
    differences = np.atleast_2d(np.asarray(model_scores, float)) - np.asarray(baseline_scores, float)
    seeds, n_rows = differences.shape
    rows_part = differences.mean(axis=0).var(ddof=1) / n_rows
    seeds_part = differences.mean(axis=1).var(ddof=1) / seeds if seeds > 1 else 0.0
    freedom = (rows_part + seeds_part) ** 2 / (rows_part ** 2 / (n_rows - 1)
                                               + (seeds_part ** 2 / (seeds - 1) if seeds > 1 else 0.0))
    margin = float(stats.t.ppf(0.5 + confidence / 2, freedom) * np.sqrt(rows_part + seeds_part))
    mean = float(differences.mean())
    return {"difference": mean, "low": mean - margin, "high": mean + margin, "over": over}


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
#    Training rows are scanned in a cheap, narrow form, in cache-sized blocks, on every core: manhattan as exact
#    integer distances on a grid of power-of-two cells (16-bit, a quarter of float64's memory traffic), euclidean
#    and cosine in float32 by one matrix product. Rows and queries are kept in order of their projection on the
#    direction of largest spread: for a block of queries the rows nearest in projection are scanned first (the
#    sample) and bound each query's k-th nearest distance, then the other rows that can be within it (for
#    manhattan only those whose projection is close enough). The scan only proposes candidates: proven bounds
#    guarantee that no true neighbour is missed, and the candidates are then ranked by exact float64 distances,
#    ties going to the lower training index. All of it runs on the data scaled by one power of two (exact in
#    floating point, and it leaves the order of distances unchanged) so that the largest training value is about
#    1: float32 then neither overflows nor loses the margin's guarantee, whatever the data's magnitude.
# ----------------------------------------------------------------------------------------------------------------
KNN_METRICS = ("euclidean", "manhattan", "cosine")
FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24
FLOAT64_UNIT_ROUNDOFF = 2.0 ** -53
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


class ManhattanGrid(NamedTuple):
    """Cells of side `step` (a power of two, so x/step and its floor are exact) numbered ⌊x/step⌋; feature j's
    training values fill cells low[j] .. high[j]. Cell differences fit `signed`, sums of d of them `unsigned`."""
    step: float
    low: np.ndarray
    high: np.ndarray
    signed: type
    unsigned: type


def manhattan_grid(points):
    """The finest power-of-two grid on which the training cells of each feature span at most `levels` cells, with
    d·levels < 2^bits: 16-bit integers while that leaves 64 levels or more, 32-bit beyond (over 1023 features)."""
    n_features = points.shape[1]
    signed, unsigned = (np.int16, np.uint16) if (2 ** 16 - 1) // n_features >= 64 else (np.int32, np.uint32)
    bits = 8 * np.dtype(signed).itemsize
    levels = min(2 ** (bits - 1) - 1, (2 ** bits - 1) // n_features)
    width = (points.max(axis=0) - points.min(axis=0)).max()
    # frexp rounds width/(levels − 2) up to a power of two (the 2 spare levels absorb the division's rounding):
    # every feature's values span under levels − 1 steps, so its cells fewer than `levels`. A step ≥ 2^-500 keeps
    # x/step finite for every query the scan sees (|x| ≤ FLOAT32_SAFE_MAGNITUDE).
    step = max(np.ldexp(1.0, int(np.frexp(width / (levels - 2))[1])), 2.0 ** -500)
    cells = np.floor(points / step)
    return ManhattanGrid(step, cells.min(axis=0), cells.max(axis=0), signed, unsigned)


def grid_cells(grid, values):
    """(cells, outside): each value's cell clipped to the training cells and counted from `low` (grid.signed), and
    per row the number of cells the clipping removed, Σⱼ |⌊xⱼ/step⌋ − clipped cellⱼ|."""
    cells = np.floor(values / grid.step)
    clipped = np.clip(cells, grid.low, grid.high)
    return (clipped - grid.low).astype(grid.signed), np.abs(cells - clipped).sum(axis=1)


def grid_distances(query_cells, point_cells, unsigned):
    """Σⱼ |qⱼ − pⱼ| of each row of query_cells (n, d) to each column of point_cells (d, m), exact in integers:
    per feature one subtraction, abs and addition in place (NumPy subtracts a per-row constant several times
    faster than it takes a minimum with one)."""
    shape = (len(query_cells), point_cells.shape[1])
    total, difference = np.empty(shape, query_cells.dtype), np.empty(shape, query_cells.dtype)
    np.subtract(point_cells[0], query_cells[:, :1], out=total)
    np.abs(total, out=total)
    total = total.view(unsigned)
    for feature in range(1, point_cells.shape[0]):
        np.subtract(point_cells[feature], query_cells[:, feature:feature + 1], out=difference)
        np.abs(difference, out=difference)
        np.add(total, difference.view(unsigned), out=total)
    return total


def principal_direction(rows):
    """Direction of largest spread of the rows (top eigenvector of the scatter matrix of about 4096 of them)."""
    rows = rows[::max(1, len(rows) // 4096)].astype(np.float64)
    centred = rows - rows.mean(axis=0)
    return np.linalg.eigh(centred.T @ centred)[1][:, -1]


def _ranges(start, stop, size):
    """(start, stop) of consecutive ranges of at most `size` covering start..stop."""
    return [(first, min(first + size, stop)) for first in range(start, stop, size)]


def lexicographic_order(rows, distances, columns, n_columns):
    """np.lexsort((columns, distances, rows)), several times faster: each key is replaced by its rank among the n
    candidates and packed with the next into one int64 (keys < n·n_columns and < n², far below 2^63 for any sizes
    that fit in memory), so three plain sorts do."""
    _, distance_ranks = np.unique(distances, return_inverse=True)      # equal distances share a rank
    _, pair_ranks = np.unique(distance_ranks * n_columns + columns, return_inverse=True)
    return np.argsort(rows * len(rows) + pair_ranks)


class KNN(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour classifier with majority vote (ties between classes go to the first class in
    `classes_`, as scikit-learn). metric: 'euclidean' ‖q − t‖₂, 'manhattan' ‖q − t‖₁, 'cosine' 1 − q·t/(‖q‖‖t‖).
    `n_jobs` threads (None or -1: all cores) each work on `block_size` queries at a time, so memory stays bounded.
    score is accuracy.
    """

    SAMPLE_SIZE = 16384     # training rows scanned first, to bound each query's k-th distance for the rest
    CHUNK_SIZE = 8192       # training rows per scan block (measured with block_size: larger blocks amortise call
                            # overhead, up to where they spill out of the caches)
    _parameter_rules = {
        "k": integer(1),
        "metric": one_of(*KNN_METRICS),
        "n_jobs": (lambda value: value is None or (_is_integer(value) and (value >= 1 or value == -1)),
                   "None or -1 (all cores), or a positive number of threads"),
        "block_size": integer(1),
    }

    def __init__(self, k=5, metric="euclidean", n_jobs=None, block_size=128):
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
        self._sample_size = min(len(X), max(self.SAMPLE_SIZE, self.k))
        # Scan order: by projection on the direction of largest spread (for manhattan a vector of signs on the grid
        # cells, integer and exact), so that rows near a query block in projection are near one another.
        if self.metric == "manhattan":
            self._grid = manhattan_grid(self._points)
            scan_rows = grid_cells(self._grid, self._points)[0]
            self._direction = np.where(principal_direction(scan_rows) < 0, -1, 1)
        else:
            scan_rows = _row_normalised(self._points) if self.metric == "cosine" else self._points
            self._direction = principal_direction(scan_rows)
        projections = self._projected(self._points)
        self._scan_order = np.argsort(projections, kind="stable")
        self._projections = projections[self._scan_order]
        if self.metric == "manhattan":
            self._scan_points = np.ascontiguousarray(scan_rows[self._scan_order].T)                 # (d, m)
            return self
        # ‖q − p‖² = ‖q‖² + 2 (‖p‖²/2 − q·p), 1 − q̂·p̂ = 1 + 2 (−q̂·p̂/2): one matrix product with the queries
        # extended by a column of ones gives the value in brackets, smallest for the nearest rows.
        scan_points = scan_rows[self._scan_order]
        squared_norms = (scan_points ** 2).sum(axis=1)
        last_row = 0.5 * squared_norms if self.metric == "euclidean" else np.zeros(len(X))
        factor = -1.0 if self.metric == "euclidean" else -0.5
        self._scan_points = np.ascontiguousarray(np.vstack([factor * scan_points.T, last_row]),
                                                 dtype=np.float32)                                # (d + 1, m)
        self._scale = squared_norms.max()
        return self

    # --- scan -------------------------------------------------------------------------------------------------
    def _scan_queries(self, queries):
        """Queries in the scan's form: grid cells (manhattan), or float32 (normalised for cosine) with a column of
        ones for the product."""
        if self.metric == "manhattan":
            return grid_cells(self._grid, queries)[0]
        scan_queries = _row_normalised(queries) if self.metric == "cosine" else queries
        return np.hstack([scan_queries, np.ones((len(queries), 1))]).astype(np.float32)

    def _projected(self, rows):
        """Projections of (scaled) rows on the scan order's direction."""
        if self.metric == "manhattan":
            return grid_cells(self._grid, rows)[0].astype(np.int64) @ self._direction
        return (_row_normalised(rows) if self.metric == "cosine" else rows) @ self._direction

    def _scan(self, scan_queries, start, stop):
        """Scanned values of the queries against training rows start..stop of the scan order, smallest for the
        nearest rows: the grid distance (manhattan), (distance² − ‖q‖²)/2 (euclidean), (distance − 1)/2 (cosine)."""
        points = self._scan_points[:, start:stop]
        if self.metric == "manhattan":
            return grid_distances(scan_queries, points, self._grid.unsigned)
        return scan_queries @ points

    def _margin(self, queries):
        """Bound, in distance units, on twice the error of a float32 scanned value, from the standard rounding-error
        analysis of sums and dot products (n terms → error ≤ n·u·Σ|terms|), with room to spare."""
        n_terms = queries.shape[1] + 8
        if self.metric == "euclidean":
            size = (queries ** 2).sum(axis=1) + self._scale
        else:
            size = np.full(len(queries), 2.0)
        return 4.0 * n_terms * FLOAT32_UNIT_ROUNDOFF * size

    def _bound(self, queries, sampled, sample_start):
        """Per query, the largest scanned value a true neighbour can have, from the sample's scanned values (the
        sample is the scan order's rows from sample_start on)."""
        if self.metric == "manhattan":
            return self._grid_bound(queries, sampled, sample_start)
        # The k-th smallest sampled value bounds the k-th nearest row's; raising it by the rounding margin (an error
        # bound on the bound and on the row compared with it) loses no true neighbour.
        kth = np.partition(sampled, self.k - 1, axis=1)[:, self.k - 1] + self._margin(queries)
        return np.nextafter(kth.astype(np.float32), np.float32(np.inf))                          # round up

    def _grid_bound(self, queries, sampled, sample_start):
        """Largest grid distance D a true neighbour can have. Why none is missed (u: float64 unit roundoff):
        - T, the largest exact distance of the (k or more) sampled rows nearest on the grid, is ≥ the k-th smallest
          float64 distance: a neighbour's float64 distance is ≤ T, its real one ≤ T(1 + (d+1)u) (d terms summed).
        - per feature x/step lies in [cell, cell + 1), so |q − p|/step > |cell_q − cell_p| − 1; p's cell lies in
          [low, high], so |cell_q − cell_p| = (cells q's clipping removed) + (the difference the scan sums).
        - summed: D < ‖q − p‖₁/step − outside + d ≤ T(1 + (d+1)u)/step − outside + d, and as D and d are integers,
          D ≤ ⌊y⌋ + d for any y ≥ T(1 + (d+1)u)/step − outside. The slack 4(d+2)u on T and on `outside` (a float64
          sum of d integers) covers those roundings and the ones in computing y."""
        kth = np.partition(sampled, self.k - 1, axis=1)[:, self.k - 1:self.k]
        rows, positions = np.divmod(np.flatnonzero(sampled <= kth), sampled.shape[1])    # ≥ k rows per query
        nearest = self._points[self._scan_order[sample_start + positions]]
        distances = exact_distances("manhattan", queries[rows], nearest)
        largest = np.maximum.reduceat(distances, np.searchsorted(rows, np.arange(len(queries))))
        _, outside = grid_cells(self._grid, queries)
        slack = 4 * (queries.shape[1] + 2) * FLOAT64_UNIT_ROUNDOFF
        bound = np.floor(largest / self._grid.step * (1 + slack) - outside * (1 - slack)) + queries.shape[1]
        return np.clip(bound, 0, np.iinfo(self._grid.unsigned).max).astype(self._grid.unsigned)

    def _windows(self, projections, bound):
        """Per query, the scan positions [low, high) of the only rows that can pass its bound. Manhattan: the signs
        s make |s·c_q − s·c_p| ≤ Σ|c_q − c_p| = D (exact integers), so a row with D ≤ bound has its projection
        within bound of the query's. The other metrics keep every row."""
        if self.metric != "manhattan":
            return np.zeros(len(projections), np.int64), np.full(len(projections), len(self._points))
        reach = bound.astype(np.int64)
        return (np.searchsorted(self._projections, projections - reach, "left"),
                np.searchsorted(self._projections, projections + reach, "right"))

    # --- neighbours -------------------------------------------------------------------------------------------
    def _block_neighbours(self, queries):
        """(distances, indices) of the k nearest training rows for a block of (scaled) queries, sorted by
        distance; distances in the scaled units."""
        if self.metric != "cosine" and np.abs(queries).max() > FLOAT32_SAFE_MAGNITUDE:
            return self._exact_neighbours(queries)
        scan_queries, projections = self._scan_queries(queries), self._projected(queries)
        # 1. The sample: the training rows nearest in projection to the block's median query. Likely near it, they
        #    give a tight bound on the scanned value of each query's true neighbours.
        middle = np.searchsorted(self._projections, np.median(projections))
        first = min(max(middle - self._sample_size // 2, 0), len(self._points) - self._sample_size)
        sampled = self._scan(scan_queries, first, first + self._sample_size)
        bound = self._bound(queries, sampled, first)
        found = [self._within(sampled, bound, np.arange(len(queries)), first)]
        # 2. The other rows that can pass the bound, in cache-sized blocks, each scanned only for the queries whose
        #    window reaches it.
        low, high = self._windows(projections, bound)
        for start, stop in [*_ranges(low.min(), min(high.max(), first), self.CHUNK_SIZE),
                            *_ranges(max(low.min(), first + self._sample_size), high.max(), self.CHUNK_SIZE)]:
            active = np.flatnonzero((low < stop) & (high > start))
            found.append(self._within(self._scan(scan_queries[active], start, stop), bound, active, start))
        rows, positions = map(np.concatenate, zip(*found))
        return self._rank_candidates(queries, self._points, rows, self._scan_order[positions])

    @staticmethod
    def _within(scanned, bound, active, start):
        """(query rows, scan positions) of the scanned values within the bound; scanned[i] holds query active[i]'s
        values for scan positions start, start + 1, ..."""
        hits = np.flatnonzero(scanned <= bound[active, None])      # 1-D nonzero is several times faster than 2-D
        return active[hits // scanned.shape[1]], hits % scanned.shape[1] + start

    def _rank_candidates(self, queries, points, rows, columns):
        """Rank candidate (query row, training column) pairs by exact distance, then index; first k per query."""
        distances = exact_distances(self.metric, queries[rows], points[columns])
        order = lexicographic_order(rows, distances, columns, len(points))
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
        from threadpoolctl import threadpool_limits
        threads = _workers(self.n_jobs)
        # One BLAS thread per worker: the workers already occupy every core.
        with threadpool_limits(1), ThreadPoolExecutor(threads) as pool, np.errstate(over="ignore", invalid="ignore"):
            # Blocks of queries near one another in projection share a sample and windows.
            order = np.argsort(self._projected(X), kind="stable")
            blocks = [X[order[start:start + self.block_size]] for start in range(0, len(X), self.block_size)]
            results = list(pool.map(self._block_neighbours, blocks))
        distances, indices = np.empty((len(X), self.k)), np.empty((len(X), self.k), np.int64)
        distances[order], indices[order] = np.vstack([d for d, _ in results]), np.vstack([i for _, i in results])
        if self.metric != "cosine":
            distances = np.ldexp(distances, self._exponent)
        return distances, indices

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
# 12. Baselines: the simplest rules a practitioner tries before an MLP — a threshold on one feature, a lookup of
#     the labels that go with one input's value.
# ----------------------------------------------------------------------------------------------------------------
class ThresholdRule(ClassifierMixin, BaseEstimator):
    """Two classes split by one feature: predict one class where X[:, column] > threshold_, the other below; the
    threshold and the side are those with the highest training accuracy (thresholds midway between values)."""

    _parameter_rules = {"column": integer(0)}

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        check_parameters(self)
        X, labels = check_array(X, "X"), class_labels(y)
        check_same_length(X, labels)
        self.classes_ = np.unique(labels)
        if len(self.classes_) != 2 or self.column >= X.shape[1]:
            raise ValueError(f"ThresholdRule needs two classes and column < {X.shape[1]}; got "
                             f"{len(self.classes_)} classes and column {self.column}.")
        values = X[:, self.column]
        order = np.argsort(values, kind="stable")
        sorted_values, positive = values[order], labels[order] == self.classes_[1]
        # Right of cut i (rows i…n−1) predicted positive: correct = positives to the right + negatives to the left.
        negatives_left = np.concatenate([[0], np.cumsum(~positive)])
        positives_right = positive.sum() - np.concatenate([[0], np.cumsum(positive)])
        correct = negatives_left + positives_right
        cuts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1], True])   # between distinct values
        above = correct[cuts] >= len(labels) - correct[cuts]
        best = cuts[np.argmax(np.maximum(correct[cuts], len(labels) - correct[cuts]))]
        self.positive_above_ = bool(above[np.flatnonzero(cuts == best)[0]])
        edges = np.r_[-np.inf, sorted_values, np.inf]
        self.threshold_ = float((edges[best] + edges[best + 1]) / 2) if 0 < best < len(values) else float(edges[best])
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_fitted(self, "threshold_")
        above = check_array(X, "X")[:, self.column] > self.threshold_
        return self.classes_[(above == self.positive_above_).astype(int)]


class LookupRule(BaseEstimator):
    """The labels that go with one input's value: rows are grouped by their values in `columns` (e.g. the one-hot
    columns of one categorical input), and each group predicts its training rows' majority class, or for a 0/1
    label matrix every label that at least half of them have; a group unseen in training gets the overall one."""

    def __init__(self, columns=()):
        self.columns = columns

    def _keys(self, X):
        return identical_rows(check_array(X, "X")[:, list(self.columns)])

    def fit(self, X, y):
        if not len(self.columns):
            raise ValueError("LookupRule needs the `columns` whose values it looks up (e.g. one input's one-hot "
                             "columns).")
        y = np.asarray(y)
        check_same_length(X, y)
        frame = pd.DataFrame(y.reshape(len(y), -1)).assign(key=self._keys(X))
        if y.ndim == 1:
            self.table_ = frame.groupby("key")[0].agg(lambda labels: labels.mode().iloc[0])
            self.default_ = pd.Series(y).mode().iloc[0]
        else:
            self.table_ = (frame.groupby("key").mean() >= 0.5).astype(y.dtype)
            self.default_ = (y.mean(axis=0) >= 0.5).astype(y.dtype)
        self.multilabel_ = y.ndim > 1
        self.n_features_in_ = check_array(X, "X").shape[1]
        return self

    def predict(self, X):
        check_fitted(self, "table_")
        keys = pd.Index(self._keys(X))
        if self.multilabel_:
            found = self.table_.reindex(keys).to_numpy(dtype=float, copy=True)
            missing = np.isnan(found).any(axis=1)
            found[missing] = self.default_
            return found.astype(self.default_.dtype)
        return self.table_.reindex(keys).fillna(self.default_).to_numpy()


# ----------------------------------------------------------------------------------------------------------------
# 13. Model builders: the MLP a sweep configuration describes, its scikit-learn twin, and which configurations train
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
# 14. Experiment running: W&B grid sweeps on every core, one W&B run per training, results cached.
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
    n_rows = len(split.y_train) + len(split.y_val)          # the folds' training and test rows: (k − 1)/k and 1/k
    against_best = [fold_comparison(scores, ranking.fold_scores[best], n_rows * (folds - 1) / folds, n_rows / folds)
                    for scores in ranking.fold_scores]
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
    n_rows = len(split.y_train) + len(split.y_val)
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
        comparison = fold_comparison(lever_scores, scores[base_name], n_rows * (folds - 1) / folds, n_rows / folds)
        rows.append({"lever": lever, f"cv_{metric}_mean": float(np.mean(lever_scores)),
                     f"cv_{metric}_std": float(np.std(lever_scores, ddof=1)),
                     **{key: comparison[key] for key in ("difference", "low", "high")},
                     "verdict": "identical" if lever != base_name and np.array_equal(
                         lever_scores, scores[base_name]) else
                     verdict(comparison, "ahead", "behind", "within noise")})
    ahead = [row for row in rows if row["verdict"] == "ahead"]
    recipe = max(ahead, key=lambda row: row[f"cv_{metric}_mean"])["lever"] if ahead else base_name
    return pd.DataFrame(rows), recipe, configs[recipe]


def _fit_history(model, split):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*split.fit_args).history_


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


# ----------------------------------------------------------------------------------------------------------------
# 15. All rows: every model on the same repeated cross-validation folds, every choice made inside a fold.
#     A small data set's fixed test part is too few rows to rank models; here every row is tested once per repeat,
#     preprocessing is fitted on each fold's training rows, a model's own selection (HoldoutSelection) sees only
#     them, and models are compared fold by fold with Nadeau and Bengio's corrected interval.
# ----------------------------------------------------------------------------------------------------------------
def repeated_folds(y, folds=10, repeats=2, seed=0, groups=None, stratify=True):
    """(training rows, test rows) of `repeats` × `folds`-fold cross-validation over all rows, each repeat shuffled
    by its own seed: every row is tested once per repeat. `stratify` keeps class proportions (1-D class labels);
    `groups` keeps the rows of a group (e.g. identical feature vectors) in one fold."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold
    y = np.asarray(y)
    stratify = stratify and y.ndim == 1
    pairs = []
    for repeat in range(repeats):
        if groups is None:
            splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed + repeat)
            parts = splitter.split(np.zeros(len(y)), y if stratify else None)
        else:
            splitter = (StratifiedGroupKFold if stratify else GroupKFold)(folds, shuffle=True,
                                                                          random_state=seed + repeat)
            parts = splitter.split(np.zeros(len(y)), y if stratify else None, groups)
        pairs += [(np.asarray(train), np.asarray(test)) for train, test in parts]
    return pairs


SEED_PARAMETERS = ("seed", "random_state")


def reseeded(estimator, seed):
    """`estimator` (unfitted) with every seed it holds, nested ones too, set to `seed`."""
    names = [name for name in estimator.get_params(deep=True) if name.rsplit("__", 1)[-1] in SEED_PARAMETERS]
    return estimator.set_params(**dict.fromkeys(names, seed))


def _stopping_rows(rows, y, seed, fraction=0.1):
    """The rows an early-stopping model trains on and the tenth it stops on (stratified for class labels)."""
    from sklearn.model_selection import train_test_split
    labels = np.asarray(y)[rows]
    stratify = labels if labels.ndim == 1 and labels.dtype.kind not in "f" and len(np.unique(labels)) > 1 else None
    try:
        return train_test_split(rows, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError:          # a class too rare to stratify on: split as the rows come
        return train_test_split(rows, test_size=fraction, random_state=seed)


def stops_early(model):
    """Is `model` one of this engine's, whose fit(X, y, X_val, y_val) stops early on validation rows? (scikit-learn's
    gradient boosting takes X_val too, keyword-only, and is left to its own defaults.)"""
    parameter = inspect.signature(model.fit).parameters.get("X_val")
    return parameter is not None and parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD


def fit_with_stopping(model, X, y, seed):
    """Fit `model`; one of this engine's, which stops early on validation rows, gets a tenth of the rows for it."""
    if not stops_early(model):
        return model.fit(X, y)
    fit_rows, stop_rows = _stopping_rows(np.arange(len(X)), y, seed)
    return model.fit(X[fit_rows], y[fit_rows], X[stop_rows], y[stop_rows])


class HoldoutSelection(BaseEstimator):
    """Model selection nested inside `fit`: every candidate is trained on the same nine tenths of the rows fit gets
    (this engine's models stop early on the other tenth) and scored on that tenth by `scoring` (a function of
    (y_true, y_pred), higher is better; None: the candidate's own `score`); the best (the first of equals) is kept
    and predicts. No row outside those given to fit takes part in the choice."""

    def __init__(self, candidates=(), scoring=None, seed=0):
        self.candidates = candidates
        self.scoring = scoring
        self.seed = seed

    def fit(self, X, y):
        if not self.candidates:
            raise ValueError("HoldoutSelection needs at least one candidate estimator in `candidates`.")
        X, y = np.asarray(X), np.asarray(y)
        fit_rows, stop_rows = _stopping_rows(np.arange(len(X)), y, self.seed)
        scores, models = [], []
        for candidate in self.candidates:
            model = reseeded(clone(candidate), self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if stops_early(model):
                    model.fit(X[fit_rows], y[fit_rows], X[stop_rows], y[stop_rows])
                else:
                    model.fit(X[fit_rows], y[fit_rows])
            score = (model.score(X[stop_rows], y[stop_rows]) if self.scoring is None
                     else self.scoring(y[stop_rows], model.predict(X[stop_rows])))
            scores.append(float(score) if np.isfinite(score) else -np.inf)
            models.append(model)
        self.validation_scores_ = scores
        self.chosen_ = int(np.argmax(scores))
        self.model_ = models[self.chosen_]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_fitted(self, "model_")
        return self.model_.predict(X)


def describe_model(estimator):
    """A JSON description of an unfitted estimator: its class and parameters, nested estimators described too;
    what a journal keys a model's fold results by."""
    def described(value):
        if hasattr(value, "get_params"):
            return describe_model(value)
        if isinstance(value, (list, tuple)):
            return [described(item) for item in value]
        if isinstance(value, dict):
            return {str(key): described(item) for key, item in value.items()}
        if callable(value):
            return _function_text(value)
        return value if value is None or isinstance(value, (bool, numbers.Number, str)) else repr(value)
    return {"class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "params": {name: described(value) for name, value in sorted(estimator.get_params(deep=False).items())}}


def _part(X, rows):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _fit_fold(model, rows, train_rows, test_rows, seed):
    """One model on one fold of `rows` (Rows): the preprocessing fitted on the fold's training rows, a regression
    target standardised on them (predictions back in its units; a model that takes the target's units, LogTarget,
    gets them), the model seeded by the fold. Returns its predictions for the test rows and, for a selection, its
    choice."""
    from threadpoolctl import threadpool_limits
    model = reseeded(clone(model), seed)
    X_train, X_test = _part(rows.X, train_rows), _part(rows.X, test_rows)
    if rows.preprocess is not None:
        transform = clone(rows.preprocess).fit(X_train)
        X_train, X_test = transform.transform(X_train), transform.transform(X_test)
    y_train = rows.y[train_rows]
    mean, std = 0.0, 1.0
    if rows.task == "regression":
        mean, std = float(y_train.mean()), float(y_train.std()) or 1.0
        y_train = (y_train - mean) / std
        units = {"target_mean": mean, "target_std": std}
        model.set_params(**{name: units[name.rsplit("__", 1)[-1]] for name in model.get_params(deep=True)
                            if name.rsplit("__", 1)[-1] in units})
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_with_stopping(model, np.asarray(X_train, dtype=float), y_train, seed)
        started = time.perf_counter()
        predicted = np.asarray(model.predict(np.asarray(X_test, dtype=float)))
        predict_seconds = time.perf_counter() - started
    if rows.task == "regression":
        predicted = predicted * std + mean
    return {"predictions": predicted.tolist(), "chosen": getattr(model, "chosen_", None),
            "predict_seconds": predict_seconds}


@dataclass
class AllRows:
    """Every model's predictions for every row in every repeat of one repeated cross-validation: `predictions[model]`
    holds one list of predictions per fold (in `folds`' order), `chosen[model]` a selection's choice per fold and
    `predict_seconds[model]` how long each fold's prediction took."""

    y: np.ndarray
    folds: list
    repeats: int
    predictions: dict
    chosen: dict
    provenance: str = ""
    predict_seconds: dict | None = None

    @property
    def models(self):
        return list(self.predictions)

    def fold_scores(self, model, metric):
        """`metric` (a key of METRICS, or a function of (y_true, y_pred)) of `model` on each fold's test rows."""
        score = METRICS[metric] if isinstance(metric, str) else metric
        return np.array([score(self.y[test], np.asarray(predicted))
                         for (_, test), predicted in zip(self.folds, self.predictions[model])])

    def compare(self, model, baseline, metric):
        """`model` − `baseline` in `metric`, fold by fold, with Nadeau and Bengio's corrected 95 % interval and the
        noise rule's verdict: a comparison dict (model, baseline, metric, difference, low, high, over, verdict)."""
        n_train, n_test = np.mean([len(train) for train, _ in self.folds]), np.mean([len(t) for _, t in self.folds])
        scores = self.fold_scores(model, metric), self.fold_scores(baseline, metric)
        comparison = fold_comparison(*scores, n_train, n_test)
        said = ("identical" if np.array_equal(*scores) else "above" if comparison["low"] > 0 else
                "below" if comparison["high"] < 0 else "within noise")
        return {"model": model, "baseline": baseline, "metric": metric if isinstance(metric, str) else metric.__name__,
                **comparison, "verdict": said}

    def summary(self, metric):
        """One record per model: mean and standard deviation of `metric` over the folds."""
        return [{"model": model, "mean": float(np.mean(scores)), "std": float(np.std(scores, ddof=1))}
                for model in self.models for scores in [self.fold_scores(model, metric)]]

    def per_row(self, model, score):
        """For each row, `score(truth, prediction)` (row-wise, e.g. a squared error) averaged over the repeats that
        tested it: the row is the unit, so a row tested twice is not counted as two."""
        totals, counts = np.zeros(len(self.y)), np.zeros(len(self.y))
        for (_, test), predicted in zip(self.folds, self.predictions[model]):
            totals[test] += score(self.y[test], np.asarray(predicted))
            counts[test] += 1
        return totals / np.where(counts > 0, counts, 1)

    def row_correct(self, model):
        """For each row, the fraction of repeats in which `model` predicted it exactly."""
        return self.per_row(model, lambda truth, predicted: (truth == predicted).reshape(len(truth), -1).all(axis=1))

    def pooled(self, model):
        """(true labels, predictions) of `model` over every fold, in fold order: each row once per repeat."""
        return (np.concatenate([self.y[test] for _, test in self.folds]),
                np.concatenate([np.asarray(predicted) for predicted in self.predictions[model]]))

    def choices(self, model):
        """How many folds chose each candidate of a selection: {candidate index: folds}."""
        counts = pd.Series(self.chosen[model]).value_counts().sort_index()
        return {int(index): int(count) for index, count in counts.items()}


def fold_variants(chosen, configs, changes=None, task="classification", patience=20):
    """One MLP per fold: the configuration a nested selection chose in that fold (`configs[chosen[fold]]`) with
    `changes` applied (a lever; none: the chosen model again). Seeded by the fold and stopped on the same tenth of
    the fold's training rows as the selection's candidates, each is paired with the chosen model on its fold."""
    return [mlp_from_config({**configs[index], **(changes or {})}, task, patience=patience) for index in chosen]


def cross_validate_models(models, rows, folds, name, n_jobs=None):
    """Fit every model of `models` ({name: unfitted estimator, or a list of one estimator per fold, None where
    the model skips a fold}) on each fold's training rows of `rows` (Rows) and predict its test rows (_fit_fold),
    in parallel, journaled in results/sweeps/<name>.jsonl under the data and the code, each fold's result keyed by
    its model's description (describe_model): a changed model recomputes only itself. Returns AllRows."""
    from tqdm.auto import tqdm
    setting = {"task": rows.task, "preprocess": None if rows.preprocess is None else describe_model(rows.preprocess)}
    journal = journal_for(name, setting, data=data_fingerprint(rows.X, rows.y, folds), code=code_fingerprint())
    calls = {}
    for model_name, model in models.items():
        per_fold = model if isinstance(model, list) else [model] * len(folds)
        for index, ((train, test), fold_model) in enumerate(zip(folds, per_fold)):
            if fold_model is None:          # a model trained on some folds only (an expensive one, once)
                continue
            key = (model_name, data_fingerprint(to_json(describe_model(fold_model))), index)
            calls[key] = functools.partial(_fit_fold, fold_model, rows, train, test, index)
    with tqdm(total=len(calls), initial=sum(key in journal for key in calls), desc=f"folds {name}") as progress:
        results = run_journaled(journal, calls, n_jobs, progress)
    predictions, chosen, seconds = {}, {}, {}
    for (model_name, _, _), result in results.items():
        predictions.setdefault(model_name, []).append(result["predictions"])
        chosen.setdefault(model_name, []).append(result["chosen"])
        seconds.setdefault(model_name, []).append(result["predict_seconds"])
    repeats = max(1, round(sum(len(test) for _, test in folds) / len(rows.y)))
    return AllRows(rows.y, folds, repeats, predictions, chosen, journal.provenance(), seconds)


# === end of the engine === (everything above computes results and keys the caches; code_fingerprint)
# ----------------------------------------------------------------------------------------------------------------
# 16. Reading results: a split that keeps linked rows together, the sweep's effects and the original's claims
#     checked on it, the curves' summaries, the ceiling duplicates set. Below the end of the engine: these read what
#     the engine computed, or feed it arrays the journals key on, so changing them never invalidates a journal.
# ----------------------------------------------------------------------------------------------------------------
def linked_groups(*keys):
    """One group label per row, joining rows that share any of `keys` (an id, a feature vector's hash): the
    connected components of the graph linking each row to its keys, so that copies of copies stay together."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    n_rows = len(keys[0])
    codes = [pd.factorize(np.asarray(key))[0] for key in keys]
    offsets = np.cumsum([n_rows] + [code.max() + 1 for code in codes])       # key nodes follow the row nodes
    rows = np.tile(np.arange(n_rows), len(codes))
    columns = np.concatenate([code + offset for code, offset in zip(codes, offsets[:-1])])
    graph = coo_matrix((np.ones(len(rows)), (rows, columns)), shape=(offsets[-1], offsets[-1]))
    return connected_components(graph, directed=False)[1][:n_rows]


def grouped_split(rows, seed=0, fractions=(0.8, 0.1, 0.1), groups=None):
    """A Split of classification `rows` that keeps every row of one group in one part (by default one id: a track
    listed under several genres), so that no test row has a copy among the training or validation rows; the
    preprocessing is fitted on the training part. Returns (split, (train_rows, val_rows, test_rows)). Below the
    engine: the journals key on the arrays it produces, not on this code."""
    from sklearn.model_selection import GroupShuffleSplit
    if rows.task != "classification" or (rows.ids is None and groups is None):
        raise ValueError("grouped_split needs classification rows with ids (Rows(..., ids=...)) or groups=; "
                         "use make_split for the others")
    groups = np.asarray(rows.ids if groups is None else groups)
    if len(groups) != len(rows.y):
        raise ValueError(f"groups has {len(groups)} entries for {len(rows.y)} rows; give one group per row")
    ids, everything = (None if rows.ids is None else np.asarray(rows.ids)), np.arange(len(rows.y))
    rest, test = next(GroupShuffleSplit(1, test_size=fractions[2], random_state=seed).split(everything, groups=groups))
    train, val = next(GroupShuffleSplit(1, test_size=fractions[1] / (1 - fractions[2]), random_state=seed)
                      .split(rest, groups=groups[rest]))
    parts = (rest[train], rest[val], test)
    raw = [rows.X.iloc[part] if hasattr(rows.X, "iloc") else rows.X[part] for part in parts]
    transformer = clone(rows.preprocess).fit(raw[0]) if rows.preprocess is not None else None
    arrays = [np.asarray(part if transformer is None else transformer.transform(part), dtype=float) for part in raw]
    names = list(rows.X.columns) if transformer is None else [str(name) for name in transformer.get_feature_names_out()]
    split = Split(*arrays, *(rows.y[part] for part in parts), names, transformer,
                  ids=None if ids is None else {name: ids[part] for name, part in zip(("train", "val", "test"), parts)},
                  raw=dict(zip(("train", "val", "test"), raw)), label_names=rows.label_names)
    return split, parts


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


def batch_size_shown(records):
    """Sweep records for a table, the batch size written 'any' where the optimizer ignores it (APPLIES): such a
    training stands for every batch size of the grid."""
    table = pd.DataFrame(records)
    used = APPLIES["batch_size"](table)
    table["batch_size"] = [str(size) if uses else "any" for size, uses in zip(table.batch_size, used)]
    return table.to_dict("records")


def best_on_validation(candidates, X_train, y_train, X_val, y_val):
    """The candidate (unfitted) whose `score` on the validation rows is highest, each fitted on the training rows;
    a tie goes to the earlier one, so the candidates' order decides it."""
    scores = [clone(candidate).fit(X_train, y_train).score(X_val, y_val) for candidate in candidates]
    return candidates[int(np.argmax(scores))]


def alike_candidates(table, score_columns, setting_columns):
    """Pairs of candidates (by `cv_rank`) whose scores agree in every score column, with the settings they differ in:
    two trainings that differ only in a budget neither reaches score alike, and are one training there."""
    return [(first["cv_rank"], second["cv_rank"],
             [column for column in setting_columns if first[column] != second[column]])
            for index, first in enumerate(table) for second in table[index + 1:]
            if all(first[column] == second[column] for column in score_columns)]


def clustered_interval(model_scores, baseline_scores, clusters, over, confidence=0.95):
    """seeds_and_rows_interval with the rows of a cluster (a track and its copies) as one unit: the rows part is the
    cluster-robust variance of the mean, C/(C−1) · Σ_c (Σ_{i∈c} (d_i − d̄))² / N² over C clusters of N rows (with one
    row per cluster, var(d)/N as before), so that rows whose predictions move together do not narrow the interval.
    Its Welch–Satterthwaite degrees of freedom are returned as 'freedom', so that the interval can be read back as a
    test (section 6's multiplicity check)."""
    from scipy import stats
    differences = np.atleast_2d(np.asarray(model_scores, float)) - np.asarray(baseline_scores, float)
    seeds, n_rows = differences.shape
    mean = float(differences.mean())
    cluster = np.unique(np.asarray(clusters), return_inverse=True)[1].ravel()
    if len(cluster) != n_rows:
        raise ValueError(f"clusters has {len(cluster)} labels for {n_rows} rows; give one label per scored row.")
    n_clusters = int(cluster.max()) + 1
    sums = np.bincount(cluster, weights=differences.mean(axis=0) - mean, minlength=n_clusters)
    rows_part = n_clusters / (n_clusters - 1) * float(np.sum(sums ** 2)) / n_rows ** 2
    seeds_part = differences.mean(axis=1).var(ddof=1) / seeds if seeds > 1 else 0.0
    freedom = (rows_part + seeds_part) ** 2 / (rows_part ** 2 / (n_clusters - 1)
                                               + (seeds_part ** 2 / (seeds - 1) if seeds > 1 else 0.0))
    margin = float(stats.t.ppf(0.5 + confidence / 2, freedom) * np.sqrt(rows_part + seeds_part))
    return {"difference": mean, "low": mean - margin, "high": mean + margin, "over": over, "freedom": float(freedom)}


def thinned_folds(y, folds, label, as_many_as):
    """`folds` with each training part's rows of class `label` cut to as many as class `as_many_as` has there (a draw
    seeded by the fold's index); test parts unchanged: a common class made rare, to see what rarity alone costs."""
    thinned = []
    for seed, (train, test) in enumerate(folds):
        labels = np.asarray(y)[train]
        size = min((labels == as_many_as).sum(), (labels == label).sum())
        kept = np.random.default_rng(seed).choice(train[labels == label], size, replace=False)
        thinned.append((np.sort(np.concatenate([train[labels != label], kept])), test))
    return thinned


def share_restoring_weights(y, folds, thinned, label):
    """Per fold, {label: w} with w = the class's training rows in `folds` / in `thinned` (thinned_folds): weighted by
    w, the thinned class keeps its share of the loss, so that only its count of distinct examples falls."""
    y = np.asarray(y)
    return [{label: float(np.sum(y[train] == label) / np.sum(y[kept] == label))}
            for (train, _), (kept, _) in zip(folds, thinned)]


def subset_comparison(all_rows, model, baseline, rows, metric):
    """`model` − `baseline` in `metric` on the rows of a subset only (`rows`: a boolean mask over all rows), fold by
    fold: each fold scores its test rows that lie in the subset, and Nadeau and Bengio's correction uses the subset's
    share of each fold, as AllRows.compare does for all rows."""
    rows = np.asarray(rows, bool)
    score = METRICS[metric] if isinstance(metric, str) else metric
    kept = [(train, test[rows[test]]) for train, test in all_rows.folds]
    scores = [np.array([score(all_rows.y[inside], np.asarray(predicted)[rows[test]])
                        for (_, inside), (_, test), predicted in zip(kept, all_rows.folds,
                                                                     all_rows.predictions[name])])
              for name in (model, baseline)]
    n_train = np.mean([rows[train].sum() for train, _ in kept])
    n_test = np.mean([len(inside) for _, inside in kept])
    comparison = fold_comparison(*scores, n_train, n_test)
    return {"model": model, "baseline": baseline, **comparison,
            "verdict": verdict(comparison, "above", "below", "within noise")}


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


def paired_effect(table, parameter, value_a, value_b, metric, others, fold_sizes=None):
    """Mean `metric` with `parameter` = value_a minus value_b, paired over trainings equal in every hyperparameter
    of `others` (a training that stands for several values of `others` counts once), with its t-interval. With
    `fold_sizes` = (training rows, test rows) the table holds one row per training and cross-validation fold
    (column 'fold'): the pairs' mean difference is taken fold by fold and the interval is Nadeau and Bengio's over
    the folds, since every pair shares each fold's rows."""
    by_fold = fold_sizes is not None
    keyed = table.assign(**{name: table[name].map(json.dumps) for name in [parameter, *others]})
    cells = keyed.pivot_table(index=[*others, "fold"] if by_fold else others, columns=parameter, values=metric,
                              aggfunc="mean")
    if json.dumps(value_a) not in cells or json.dumps(value_b) not in cells:
        return {"difference": np.nan, "low": -np.inf, "high": np.inf, "over": "not both in this grid"}
    pairs = cells[[json.dumps(value_a), json.dumps(value_b)]].dropna()
    differences = pairs[json.dumps(value_a)] - pairs[json.dumps(value_b)]
    if not by_fold:
        return paired_interval(differences, f"{len(differences)} matched trainings")
    per_fold = differences.groupby(level="fold").mean()
    n_train, n_test = fold_sizes
    return paired_interval(per_fold, f"{len(differences) // len(per_fold)} matched trainings, {len(per_fold)} folds, "
                                     "corrected", 1 / len(per_fold) + n_test / n_train)


def effect_comparisons(table, hyperparameters, metric):
    """For each hyperparameter, over the trainings where it applies: its values' mean `metric` over the blocks of
    trainings that differ only in it and hold every one of its values (so that every mean covers the same other
    settings), and the best value against the runner-up, paired over those blocks."""
    comparisons = {}
    for parameter in hyperparameters:
        rows = _where_it_applies(table, parameter)
        others = [name for name in hyperparameters if name != parameter]
        keyed = rows.assign(**{name: rows[name].map(json.dumps) for name in [parameter, *others]})
        blocks = keyed.pivot_table(index=others, columns=parameter, values=metric, aggfunc="mean").dropna()
        if blocks.shape[1] < 2 or len(blocks) < 2:      # one value in the grid (quick mode), or no matched blocks
            continue
        means = blocks.mean().sort_values(ascending=False)
        best, runner_up = means.index[:2]
        comparisons[parameter] = {"best": json.loads(best), "runner_up": json.loads(runner_up),
                                  **paired_interval(blocks[best] - blocks[runner_up], f"{len(blocks)} matched blocks")}
    return comparisons


def value_label(value):
    """A hyperparameter value as a table shows it: [32, 32], tanh, 0.01."""
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def claim_comparisons(table, parameter, claimed, alternatives, metric, hyperparameters=SWEEP_HYPERPARAMETERS,
                      fold_sizes=None):
    """Paired comparisons of `claimed` against each alternative value of `parameter` (labelled 'a − b')."""
    rows = _where_it_applies(table, parameter)
    others = [name for name in hyperparameters if name != parameter]
    return [{"label": f"{value_label(claimed)} − {value_label(alternative)}",
             **paired_effect(rows, parameter, claimed, alternative, metric, others, fold_sizes)}
            for alternative in alternatives]


def housing_claim_checks(table, claims, metric="val_r2", hyperparameters=SWEEP_HYPERPARAMETERS, fold_sizes=None):
    """The original's section 3.3 claims (original_figures.json) as lists of paired comparisons on our sweep; with
    `fold_sizes`, on a table of one row per training and fold (paired_effect)."""
    values = {name: list(dict.fromkeys(table[name].map(json.dumps))) for name in hyperparameters}
    others_than = {name: [json.loads(value) for value in values[name]] for name in hyperparameters}
    depths = table.assign(depth=table.hidden_layers.map(len))
    depth_others = [name for name in hyperparameters if name != "hidden_layers"]
    order = claims["depth_order"]
    return [
        {"claim": f"best optimizer {claims['best_optimizer']}",
         "comparisons": claim_comparisons(table, "optimizer", claims["best_optimizer"],
                                          [value for value in others_than["optimizer"]
                                           if value != claims["best_optimizer"]], metric, hyperparameters,
                                          fold_sizes)},
        {"claim": f"{listing(claims['activations_better_than_tanh'])} above tanh",
         "comparisons": [comparison for name in claims["activations_better_than_tanh"]
                         for comparison in claim_comparisons(table, "activation", name, ["tanh"], metric,
                                                             hyperparameters, fold_sizes)]},
        {"claim": f"best learning rate {claims['best_learning_rate']}",
         "comparisons": claim_comparisons(table, "learning_rate", claims["best_learning_rate"],
                                          [value for value in others_than["learning_rate"]
                                           if value != claims["best_learning_rate"]], metric, hyperparameters,
                                          fold_sizes)},
        {"claim": f"depth order {' > '.join(map(str, order))} layers",
         "comparisons": [{"label": f"{deeper} − {shallower} hidden layers",
                          **paired_effect(depths, "depth", deeper, shallower, metric, depth_others, fold_sizes)}
                         for deeper, shallower in zip(order, order[1:])]}]


def curve_summary(histories, metric="accuracy"):
    """Per curve: final training and validation loss, the lowest validation loss and its epoch, final metric."""
    return {label: {"final_train_loss": history["train_loss"][-1], "final_val_loss": history["val_loss"][-1],
                    "min_val_loss": min(history["val_loss"]),
                    "epoch_of_min_val_loss": int(np.argmin(history["val_loss"]) + 1),
                    f"final_val_{metric}": history[f"val_{metric}"][-1]}
            for label, history in histories.items()}


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


def decay_epochs(history, fraction=0.9, curve="val_loss", interpolate=False):
    """The first epoch at which a loss curve (the validation loss by default) has fallen `fraction` of the way from
    its first value to its minimum: how fast it decays, comparable between losses of different scales. With
    `interpolate`, the crossing is placed linearly between the epoch before and the epoch it is reached (a fraction
    of an epoch), so that curves that fall within a few epochs can still be told apart."""
    losses = np.asarray(history[curve])
    target = losses[0] - fraction * (losses[0] - losses.min())
    reached = int(np.argmax(losses <= target))
    if not interpolate or reached == 0:
        return reached + 1
    before, after = losses[reached - 1], losses[reached]
    return float(reached + (before - target) / (before - after))


def duplicate_ceiling(X, y):
    """The highest accuracy any classifier can reach on (X, y): rows with identical features get one prediction,
    so each group of identical rows contributes at most the count of its most common label."""
    groups = pd.DataFrame({"row": identical_rows(X), "label": y})
    return float(groups.groupby(["row", "label"]).size().groupby(level="row").max().sum() / len(groups))


# ----------------------------------------------------------------------------------------------------------------
# 17. Report outputs: figures and the numbers report.md is generated from.
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


def section_summaries(results_dir=None):
    """What every results file offers the summary (its notebook's `results["summary"]`: headline rows, finding,
    rows against the original, levers), in the order of the sections: [(notebook name, summary), …]. A new
    section's notebook joins by saving such a summary; results without one are skipped."""
    folder = Path(results_dir or RESULTS_DIR)
    found = [(path.stem, read_results(path.stem, folder)) for path in sorted(folder.glob("*.json"))]
    summaries = [(name, results["summary"]) for name, results in found if isinstance(results.get("summary"), dict)]
    return sorted(summaries, key=lambda item: (item[1].get("section", 99), item[0]))


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


def plot_effect_curves(histories, loss_name, metric="accuracy", title=None, smooth=5):
    """Three panels — training loss, validation loss, validation metric — one line per run, so training and
    validation never share an axis. Losses are drawn on a log scale, so one diverging run (a large learning rate)
    stays on the axes without squashing the others; the noisy validation metric is a `smooth`-epoch moving average,
    so that overlapping runs can be told apart."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))    # narrow enough that its text stays legible at page width
    # One marker shape per run, so that runs whose lowest loss falls at the same epoch stay apart.
    for (label, history), marker in zip(histories.items(), itertools.cycle("osD^vP")):
        averaged = pd.Series(history[f"val_{metric}"]).rolling(smooth, min_periods=1).mean()
        lowest = int(np.argmin(history["val_loss"]))       # the epoch early stopping would keep
        axes[0].plot(history["epoch"], history["train_loss"], label=label, linewidth=1.2)
        # The lowest validation loss, and the same epoch on the accuracy curve: what stopping there would keep.
        for ax, values in ((axes[1], history["val_loss"]), (axes[2], averaged)):
            ax.plot(history["epoch"], values, label=label, linewidth=1.2, marker=marker, markevery=[lowest],
                    markersize=7, markeredgecolor="black")
    titles = (f"training {loss_name}", f"validation {loss_name} (marker: lowest)",
              f"validation {metric}, {smooth}-epoch mean\n(marker: at the lowest loss)")
    for ax, title_text, scale in zip(axes, titles, (f"{loss_name}, log scale", f"{loss_name}, log scale", metric)):
        ax.set(xlabel="epoch", ylabel=scale, title=title_text)
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
    for ax in axes[:2]:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        # 1.2 labels a narrow span usefully, but on a wide one it crowds 1.0.
        steps = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if high / low > 4 else (1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 7.0)
        ax.yaxis.set_major_locator(LogLocator(subs=steps))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())       # labelled steps far enough apart not to overlap
        ax.ticklabel_format(axis="y", style="plain")
    # One legend under the panels, so that it covers no curve.
    figure.legend(*axes[2].get_legend_handles_labels(), loc="lower center", ncol=len(histories), fontsize=11,
                  frameon=False)
    if title:
        figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure


def lever_panels(summaries):
    """Every section's levers (section_summaries' 'levers'): {panel title: (rows of lever, difference, low, high,
    verdict; shown in points?)}."""
    return {summary["levers"]["title"]: (summary["levers"]["rows"], summary["levers"]["points"])
            for _, summary in summaries if summary.get("levers")}


LEVER_COLOURS = {"above": "#2e7d32", "below": "#c62828", "within noise": "#757575", "identical": "#64b5f6",
                 "picked on these folds": "#ef6c00"}      # a combination chosen on the folds that score it: no verdict


def plot_lever_intervals(panels):
    """One panel per data set, two panels a row (the report caps a figure's height, so a wide figure reads larger):
    each lever's mean difference from the model it changes (dot) and its 95 % corrected interval (bar), coloured by
    the noise rule's verdict; the zero line is 'no change'."""
    import textwrap
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    columns = min(2, len(panels))
    heights = [len(rows) for rows, _ in panels.values()]
    row_heights = [max(heights[start:start + columns]) for start in range(0, len(heights), columns)]
    figure, axes = plt.subplots(len(row_heights), columns, figsize=(6.5 * columns, 1.2 + 0.3 * sum(row_heights)
                                                                    + 0.7 * len(row_heights)),
                                gridspec_kw={"height_ratios": row_heights}, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (title, (rows, as_points)) in zip(axes.flat, panels.items()):
        scale = 100 if as_points else 1
        for position, row in enumerate(rows):
            colour = LEVER_COLOURS[row["verdict"]]
            ax.plot([row["low"] * scale, row["high"] * scale], [position, position], color=colour, linewidth=2)
            ax.plot(row["difference"] * scale, position, "o", color=colour, markersize=4)
        ax.axvline(0, color="black", linewidth=0.8)
        labels = ["the combination of section 4.5" if row["lever"].startswith("combination (")
                  else textwrap.fill(row["lever"], 36) for row in rows]      # the section names its members
        ax.set_yticks(range(len(rows)), labels, fontsize=9)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.xaxis.set_major_locator(plt.MaxNLocator(7, steps=[1, 2, 2.5, 5, 10]))     # round ticks: 0.5, not 0.8
        ax.set_title(title, fontsize=10.5, loc="left")
        ax.tick_params(axis="x", labelsize=9)
        unit = title.split(": ", 1)[-1]                # 'wine: accuracy, points' → 'accuracy, points'
        ax.set_xlabel(f"lever minus the model it changes, {unit} (95 % interval)", fontsize=9)
    shown = [word for word in LEVER_COLOURS if any(row["verdict"] == word for rows, _ in panels.values()
                                                   for row in rows)]
    names = {"above": "above: interval above zero", "below": "below: interval below zero",
             "within noise": "within noise", "identical": "identical on every fold",
             "picked on these folds": "picked on the folds that score it: no verdict"}
    figure.legend([Line2D([], [], color=LEVER_COLOURS[word], linewidth=2) for word in shown],
                  [names[word] for word in shown], fontsize=10, loc="upper center", ncol=4, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    return figure


METRIC_LABELS = {"val_r2": "validation R²", "val_accuracy": "validation accuracy"}


def plot_sweep_effects(table, parameters, metric, title=None, everything=None):
    """One panel per hyperparameter: the distribution of `metric` at each of its values, highest mean first (the
    order of the effect tables; the mean marked by a diamond), over the
    sweep runs where it applies (the batch size only for optimizers that use one, as hyperparameter_effects counts
    them). With `everything`, the trainings `table` was drawn from, each value is labelled 'n of m': how many of its
    trainings the panel shows."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    n_rows = -(-len(parameters) // 3)          # three panels a row keeps the figure legible on a page
    figure, axes = plt.subplots(n_rows, min(3, len(parameters)), figsize=(11, 2.9 * n_rows), sharey=True,
                                squeeze=False)
    for ax in axes.flat[len(parameters):]:
        ax.axis("off")
    saved_state = np.random.get_state()
    np.random.seed(0)       # seaborn jitters strip points with numpy's global generator: fix it, then restore it
    for ax, name in zip(axes.flat, parameters):
        applies = _where_it_applies(table, name)           # the batch size: only trainings that use one
        panel = applies.assign(**{name: applies[name].astype(str)})
        order = list(panel.groupby(name)[metric].mean().sort_values(ascending=False).index)     # highest mean first
        sns.boxplot(data=panel, x=name, y=metric, ax=ax, order=order, color="#cfe0f3", fliersize=0, showmeans=True,
                    meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 6})
        sns.stripplot(data=panel, x=name, y=metric, ax=ax, order=order, size=2.5, alpha=0.5, color="#1f4e79")
        if everything is None:
            ax.tick_params(axis="x", rotation=30)
        else:
            shown, totals = (part[name].astype(str).value_counts()
                             for part in (panel, _where_it_applies(everything, name)))
            ax.set_xticks(range(len(order)), [f"{value}\n{shown[value]} of {totals[value]}" for value in order],
                          fontsize=9)
        ax.set(xlabel=name.replace("_", " "), ylabel=METRIC_LABELS.get(metric, metric.replace("_", " ")))
    np.random.set_state(saved_state)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------------------------------------------
# 18. Wording: the generic pieces every notebook writes its prose with. A notebook writes each of its sentences
#     once, as an f-string over these (number, signed, interval, verdict), and shows it with show, a table with
#     show_table and a saved figure with show_figure; notebooks/export.py assembles report.md from those outputs.
# ----------------------------------------------------------------------------------------------------------------
def show(markdown):
    """Display computed prose as markdown: the notebook shows it, and the report takes it as it is. Lines wrapped
    in the source are joined (a computed '8. ' at a line's start would otherwise begin a list); tables, lists and
    headings keep their lines."""
    from IPython.display import Markdown, display
    display(Markdown(re.sub(r"(?<!\n)\n(?!\n|\||- |\* |#|>)", " ", markdown)))


def show_table(records, columns=None, digits=3, headers=None, caption=None):
    """Display a list of dicts (or a DataFrame) as a markdown table (markdown_table), with an italic caption line
    under it when given."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict("records")
    show(markdown_table(records, columns, digits, headers) + (f"\n\n*{caption}*" if caption else ""))


def show_figure(name, caption):
    """Display figures/<name>.png with its caption; the report links the file (output metadata 'report_figure')."""
    from IPython.display import Image, display
    display(Image(filename=str(FIGURES_DIR / f"{name}.png")),
            metadata={"report_figure": {"path": f"figures/{name}.png", "caption": caption}})
    show(f"*{caption}*")


def number(value, digits=3):
    """A number as the report prints it: whole numbers as integers with a thin space every three digits (1 143),
    others with `digits` decimals, tiny ones in scientific notation with two significant digits (1.1e-06); NaN
    is '—'."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, numbers.Real) and value != value:
        return "—"
    if isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer()
                                               and abs(value) >= 10 ** digits):
        return f"{int(value):,}".replace(",", "\u2009")
    if isinstance(value, numbers.Real):
        text = f"{value:.{digits}f}" if abs(value) >= 10 ** -digits or value == 0 else f"{value:.1e}"
        if float(text) == 0:                 # −0.000: the sign of a value too small to print
            return text.lstrip("-")
        return "−" + text[1:] if text.startswith("-") else text
    return str(value)


def plus_minus(summary, digits=3):
    """'mean ± std' from a {'mean': …, 'std': …} mapping (the std over folds or seeds, as the text says)."""
    return f"{number(summary['mean'], digits)} ± {number(float(summary['std']), digits)}"


def markdown_table(records, columns=None, digits=3, headers=None):
    """A markdown table of a list of dicts; `columns` picks and orders keys, `headers` renames them. A column whose
    numbers are all whole is printed as integers (counts, supports); any other number with `digits` decimals
    (seconds with one); lists and configurations as text."""
    columns = columns or list(records[0])
    headers = headers or [str(column).replace("_", " ") for column in columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    whole = {column: all(float(record[column]).is_integer() for record in records
                         if isinstance(record.get(column), numbers.Real)
                         and not isinstance(record.get(column), (bool, np.bool_)) and record[column] == record[column])
             for column in columns}
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            if isinstance(value, (list, tuple)):
                cells.append("[" + ", ".join(map(str, value)) + "]")
            elif isinstance(value, (bool, np.bool_)):
                cells.append("yes" if value else "no")
            elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and value == value:
                cells.append(number(int(value)) if whole[column] else
                             number(float(value), 1 if "seconds" in str(column) else digits))
            else:
                cells.append(number(value, digits) if value is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


OPTIMIZER_NAMES = {"sgd": "plain SGD", "mini_batch_gd": "mini-batch gradient descent",
                   "batch_gd": "full-batch gradient descent", "momentum": "momentum", "adam": "Adam"}


def config_text(config):
    """A training configuration as a phrase: 'hidden layers [20, 20], tanh, mini-batch gradient descent, batch 32,
    learning rate 0.01, up to 1 000 epochs, patience 20'."""
    parts = [f"hidden layers [{', '.join(map(str, config['hidden_layers']))}]" if "hidden_layers" in config else None,
             config.get("activation"), OPTIMIZER_NAMES.get(config.get("optimizer"), config.get("optimizer")),
             f"batch {config['batch_size']}" if config.get("optimizer") in ("mini_batch_gd", "momentum", "adam")
             else None,
             f"learning rate {config['learning_rate']}" if "learning_rate" in config else None,
             f"up to {number(config['epochs'])} epochs" if "epochs" in config else None,
             f"patience {config['patience']}" if config.get("patience") else None]
    return ", ".join(str(part) for part in parts if part is not None)


def grid_text(grid):
    """A sweep grid as one phrase per parameter: 'hidden layers [64], [32, 32]; learning rate 0.001, 0.01; …'."""
    return "; ".join(f"{name.replace('_', ' ')} {', '.join(value_label(value) for value in values)}"
                     for name, values in grid.items())


def find(records, **conditions):
    """The first record whose fields equal `conditions`; a KeyError naming them if there is none."""
    for record in records:
        if all(record.get(key) == value for key, value in conditions.items()):
            return record
    raise KeyError(f"no row with {conditions} among {len(records)} rows: is the row named as the notebook wrote it?")


def share(part, whole, noun):
    """'all 24 items' when the part is the whole, '16 of the 20 folds' otherwise."""
    return f"all {number(whole)} {noun}" if part == whole else f"{number(part)} of the {number(whole)} {noun}"


def listing(items, conjunction="and"):
    """'a, b and c' ('none' for no items)."""
    items = [str(item) for item in items]
    if not items:
        return "none"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def signed(value, scale=1.0, digits=3):
    """'+0.038', '−5.0': a difference with its sign and a fixed number of decimals; one that would round to zero
    gets up to two more decimals ('−0.04', not '−0.0'), and only an exact zero is '0'."""
    value = float(value) * scale
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return "—" if value != value else ("+∞" if value > 0 else "−∞")
    while round(abs(value), digits) == 0 and digits < 5:
        digits += 1
    return ("+" if value > 0 else "−") + f"{abs(value):.{digits}f}"


def interval(comparison, points=False, digits=3):
    """'+1.9 points [−4.5, +8.3]': a difference and its 95 % interval (accuracies in percentage points)."""
    scale, digits, unit = (100, 1, " points") if points else (1, digits, "")
    return (f"{signed(comparison['difference'], scale, digits)}{unit} [{signed(comparison['low'], scale, digits)}, "
            f"{signed(comparison['high'], scale, digits)}]")


def verdict(comparison, above="above", below="below", within="within noise of"):
    """The noise rule: `above` when the 95 % interval of the difference lies above zero, `below` when it lies below
    zero, `within` when it holds zero."""
    if comparison["low"] > 0:
        return above
    if comparison["high"] < 0:
        return below
    return within


def reversed_comparison(comparison):
    """The same comparison read the other way, baseline − model: names swap, the difference and interval change sign."""
    flipped = {"above": "below", "below": "above"}
    return {**comparison, "model": comparison["baseline"], "baseline": comparison["model"],
            "difference": -comparison["difference"], "low": -comparison["high"], "high": -comparison["low"],
            **({"verdict": flipped.get(comparison["verdict"], comparison["verdict"])}
               if "verdict" in comparison else {})}


def reproduced(theirs, ours, over, digits=3, bounds=(-np.inf, np.inf)):
    """Whether one of the original's figures lies inside the 95 % prediction interval of one more run, from `ours`
    (the same setting's scores over folds, splits or trainings, named by `over`): mean ± t · sd · √(1 + 1/n), cut to
    the metric's `bounds`; with the original minus our mean, so that a reader sees the gap as well as the interval:
    'yes: inside 0.275 to 1.000 (prediction interval, our 10 splits); original − our mean +0.111'. The interval is
    rounded as printed, so that the verdict agrees with the figures a reader sees."""
    from scipy import stats
    ours = np.asarray(ours, dtype=float)
    margin = stats.t.ppf(0.975, len(ours) - 1) * ours.std(ddof=1) * np.sqrt(1 + 1 / len(ours))
    low = round(float(max(ours.mean() - margin, bounds[0])), digits)
    high = round(float(min(ours.mean() + margin, bounds[1])), digits)
    place = "yes: inside" if low <= theirs <= high else "no: above" if theirs > high else "no: below"
    return (f"{place} {number(low, digits)} to {number(high, digits)} (prediction interval, our {over}); original − "
            f"our mean {signed(theirs - ours.mean(), digits=digits)}")


def by_mean_within(effects):
    """hyperparameter_effects' rows, each hyperparameter's values by mean, highest first, as the sweep figures order
    them; the hyperparameters keep their order."""
    order = list(dict.fromkeys(row["parameter"] for row in effects))
    return sorted(effects, key=lambda row: (order.index(row["parameter"]), -row["mean"]))


def comparison_rows(comparisons, points=False, digits=3):
    """Records for a table of comparisons (model − baseline): the pair, the difference, its 95 % interval and the
    verdict, so that prose need not repeat them."""
    scale, digits = (100, 1) if points else (1, digits)
    return [{"model − baseline": f"{comparison['model']} − {comparison['baseline']}",
             "difference": signed(comparison["difference"], scale, digits),
             "95 % interval": interval(comparison, points, digits).split(" ", 1 + points)[-1],
             "verdict": comparison.get("verdict") if comparison.get("verdict") == "identical" else
             verdict(comparison, within="within noise")} for comparison in comparisons]


# --- the original report, quoted by line ------------------------------------------------------------------------
# notebooks/original_figures.json holds every figure and setting the report attributes to the original, each as
# [value, the line of the original where it is printed]; tests/test_original.py checks each value on its line.
ORIGINAL = json.loads((PROJECT_DIR / "notebooks" / "original_figures.json").read_text(encoding="utf-8"))


def original(group, name):
    """The original's figure `name` of `group` (original_figures.json)."""
    return ORIGINAL[group][name][0]


def cite(group, *names):
    """Where the original prints figures of `group` (all of them if no name is given): 'original l.72–74'."""
    lines = sorted({ORIGINAL[group][name][1] for name in (names or [key for key in ORIGINAL[group]])})
    runs, start = [], lines[0]
    for previous, line in zip(lines, lines[1:] + [None]):
        if line != previous + 1:
            runs.append(str(start) if start == previous else f"{start}–{previous}")
            start = line
    return f"original l.{', '.join(runs)}"


def cite_span(group, first, last):
    """The lines from figure `first` to figure `last` of `group`, as one span: 'original l.153–173' (a table)."""
    return f"original l.{ORIGINAL[group][first][1]}–{ORIGINAL[group][last][1]}"
