"""The data step: verified, atomic copies; clear errors; loaders that say what to run."""
import hashlib
import importlib.util
import subprocess
import sys

import pytest

import helpers
from conftest import PROJECT_DIR

spec = importlib.util.spec_from_file_location("fetch", PROJECT_DIR / "data" / "fetch.py")
fetch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch)

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
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "data" / "fetch.py"), "--force"],
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
    if not (helpers.DATA_DIR / "WineQT.csv").is_file():
        pytest.skip("data not fetched")
    assert helpers.load_wine().shape == (1143, 13)
    assert helpers.load_housing().shape == (506, 14)
    assert helpers.load_diabetes().shape == (768, 9)
    assert helpers.load_advertisement().shape == (1000, 11)
    spotify = helpers.load_spotify()
    assert spotify.shape == (114000, 20) and set(helpers.SPOTIFY_FEATURES) <= set(spotify.columns)
