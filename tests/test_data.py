"""The data step: verified, atomic copies; clear errors; loaders that say what to run."""
import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import helpers
from conftest import PROJECT_DIR, load_script

fetch = load_script("data/fetch.py")
FETCH = [sys.executable, str(PROJECT_DIR / "data" / "fetch.py")]

CONTENT = b"a,b\n1,2\n"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    mirror, data = tmp_path / "mirror", tmp_path / "data"
    mirror.mkdir(), data.mkdir()
    (mirror / "toy.csv").write_bytes(CONTENT)
    checksums = tmp_path / "SHA256SUMS"
    checksums.write_text(f"{hashlib.sha256(CONTENT).hexdigest()}  toy.csv\n")
    monkeypatch.setattr(fetch, "URLS", {"toy.csv": (tmp_path / "nowhere.csv").as_uri()})
    return mirror, data, checksums


def test_copies_and_verifies_from_the_mirror(setup):
    mirror, data, checksums = setup
    assert fetch.fetch_all(data, mirror, checksums=checksums) == []
    assert (data / "toy.csv").read_bytes() == CONTENT
    assert [p.name for p in data.iterdir()] == ["toy.csv"]        # no temp file left behind


def test_corrupted_mirror_file_fails_and_writes_nothing(setup):
    mirror, data, checksums = setup
    (mirror / "toy.csv").write_bytes(b"a,b\n1,3\n")
    failures = fetch.fetch_all(data, mirror, checksums=checksums)
    assert len(failures) == 1 and "toy.csv: sha256 mismatch" in failures[0] and "Fix:" in failures[0]
    assert list(data.iterdir()) == []


def test_wrong_existing_file_is_replaced(setup):
    mirror, data, checksums = setup
    (data / "toy.csv").write_bytes(b"stale")
    assert fetch.fetch_all(data, mirror, checksums=checksums) == []
    assert (data / "toy.csv").read_bytes() == CONTENT


def test_missing_source_fails_naming_file_and_fix(setup):
    mirror, data, checksums = setup
    (mirror / "toy.csv").unlink()
    failures = fetch.fetch_all(data, mirror, checksums=checksums)
    assert len(failures) == 1 and failures[0].startswith("toy.csv:") and "DATA_MIRROR" in failures[0]
    assert list(data.iterdir()) == []


def test_script_exits_nonzero_on_a_bad_mirror(tmp_path):
    """The real script, pointed at a mirror with one corrupted file, must fail and name that file."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in fetch.read_checksums():
        (mirror / name).write_bytes(b"not the data")
    result = subprocess.run([*FETCH, "--force"],
                            env={"DATA_MIRROR": str(mirror), "PATH": ""}, capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "WineQT.csv: sha256 mismatch" in result.stderr


def test_loaders_say_run_make_data(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "DATA_DIR", tmp_path)
    for loader in (helpers.load_wine, helpers.load_housing, helpers.load_diabetes, helpers.load_advertisement,
                   helpers.load_spotify):
        with pytest.raises(FileNotFoundError, match="run `make data`"):
            loader()


def test_loaders_read_the_fetched_files():
    """`make test` fetches the data first, so the real files are always there to read."""
    assert helpers.load_wine().shape == (1143, 13)
    assert helpers.load_housing().shape == (506, 14)
    assert helpers.load_diabetes().shape == (768, 9)
    assert helpers.load_advertisement().shape == (1000, 11)
    spotify = helpers.load_spotify()
    assert spotify.shape == (114000, 20) and set(helpers.SPOTIFY_FEATURES) <= set(spotify.columns)


def test_help_and_unknown_flags():
    help_text = subprocess.run([*FETCH, "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "--force" in help_text.stdout and "DATA_MIRROR" in help_text.stdout
    unknown = subprocess.run([*FETCH, "--froce"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unrecognized arguments: --froce" in unknown.stderr


def test_a_mirror_that_does_not_exist_is_one_clear_line(tmp_path):
    result = subprocess.run(FETCH, env={"DATA_MIRROR": str(tmp_path / "nowhere"), "PATH": ""}, capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"ERROR: DATA_MIRROR={tmp_path / 'nowhere'} is not a folder. Fix: point "
                                     "DATA_MIRROR at the folder holding the CSVs, or unset it to use ../shared/data "
                                     "or the public URLs.")


@pytest.mark.parametrize("content, message", [
    (None, "is missing: it lists the expected sha256 of every data file"),
    ("not a checksum line\n", "line 1 is malformed ('not a checksum line'): each line must be '<64 hex digits>  "
                              "<file name>'"),
    ("abc123  toy.csv\n", "line 1 is malformed ('abc123  toy.csv')"),
    ("\n\n", "lists no files"),
])
def test_missing_or_malformed_checksums_are_named(tmp_path, content, message):
    checksums = tmp_path / "SHA256SUMS"
    if content is not None:
        checksums.write_text(content)
    with pytest.raises(fetch.DataError) as error:
        fetch.read_checksums(checksums)
    assert message in str(error.value) and "Fix: restore it from git" in str(error.value)


@pytest.mark.parametrize("cut, message", [
    (lambda text: "\n".join(text.splitlines()[:500]) + "\n", "has 499 rows instead of 1143"),
    (lambda text: "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) + "\n", "lacks columns ['Id']"),
])
def test_loaders_notice_a_truncated_file(tmp_path, monkeypatch, cut, message):
    original = (helpers.DATA_DIR / "WineQT.csv").read_text()
    (tmp_path / "WineQT.csv").write_text(cut(original))
    monkeypatch.setattr(helpers, "DATA_DIR", tmp_path)
    with pytest.raises(ValueError, match=message.replace("[", "\\[").replace("]", "\\]")
                       + ": it is truncated or not the published file. Fix: run `python data/fetch.py --force`"):
        helpers.load_wine()


def test_grouped_split_keeps_each_id_in_one_part():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 60, size=300).astype(str)            # ids repeat, as tracks listed under several genres
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    rows = helpers.Rows(X, rng.integers(0, 4, size=300), "classification", helpers.standardiser(), ids=ids)
    split, (train, val, test) = helpers.grouped_split(rows, seed=1)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(300))
    parts = [set(ids[part]) for part in (train, val, test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert np.allclose(split.X_train.mean(axis=0), 0)           # standardised on the training part
    assert np.array_equal(split.ids["test"], ids[test]) and np.array_equal(split.y_val, rows.y[val])


def test_grouped_split_refuses_rows_without_ids():
    rows = helpers.Rows(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), np.array([0, 1, 0]), "classification", None)
    with pytest.raises(ValueError, match="ids"):
        helpers.grouped_split(rows)


def test_grouped_split_by_given_groups_keeps_identical_rows_together():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.integers(0, 5, size=(200, 2)).astype(float), columns=["a", "b"])   # many identical rows
    rows = helpers.Rows(X, rng.integers(0, 3, size=200), "classification", helpers.standardiser())
    groups = helpers.identical_rows(X.to_numpy())
    split, parts = helpers.grouped_split(rows, groups=groups)
    seen = [set(groups[part]) for part in parts]
    assert not seen[0] & seen[2] and not seen[1] & seen[2] and split.ids is None
    with pytest.raises(ValueError, match="one group per row"):
        helpers.grouped_split(rows, groups=groups[:-1])


def test_linked_groups_join_rows_through_any_shared_key():
    ids = np.array(["a", "a", "b", "c", "d"])
    features = np.array([1, 2, 2, 3, 4])          # row 2 shares features with row 1, which shares an id with row 0
    groups = helpers.linked_groups(ids, features)
    assert groups[0] == groups[1] == groups[2] and len({groups[0], groups[3], groups[4]}) == 3
