"""Fill data/ with the five public CSVs, verified against data/SHA256SUMS.

Each file is copied from a local mirror folder (env DATA_MIRROR, default ../shared/data when it exists)
or else downloaded from its public URL. Bytes go to a temporary file in data/, are checked against the
committed sha256, and only then renamed into place, so data/ never holds a partial or wrong file.

Usage: python data/fetch.py [--force]        (standard library only: runs before any install)
"""
import argparse
import hashlib
import re
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
PROJECT_DIR = DATA_DIR.parent
CHECKSUMS = DATA_DIR / "SHA256SUMS"
_PINNED = ("https://raw.githubusercontent.com/SohamVaishnav/smai-m24-assignments-SohamVaishnav/"
           "1e60258dbc010784882b9498a2e627f0d75d94f3/data/external/")
URLS = {
    "WineQT.csv": _PINNED + "WineQT.csv",
    "HousingData.csv": _PINNED + "HousingData.csv",
    "diabetes.csv": _PINNED + "diabetes.csv",
    "advertisement.csv": _PINNED + "advertisement.csv",
    "spotify.csv": "https://huggingface.co/datasets/maharshipandya/spotify-tracks-dataset/resolve/main/dataset.csv",
}


class DataError(Exception):
    """A data file could not be obtained or failed verification."""


SHA256_LINE = re.compile(r"([0-9a-f]{64}) [ *]?(\S.*)")


def read_checksums(path=CHECKSUMS):
    """Map file name -> expected sha256 from a `sha256sum`-style file; DataError if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing: it lists the expected sha256 of every data file. Fix: restore it from "
                        "git (git checkout -- data/SHA256SUMS).")
    sums = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        match = SHA256_LINE.fullmatch(line.strip())
        if not match:
            raise DataError(f"{path} line {number} is malformed ({line.strip()[:60]!r}): each line must be "
                            "'<64 hex digits>  <file name>'. "
                            "Fix: restore it from git (git checkout -- data/SHA256SUMS).")
        sums[match.group(2).strip()] = match.group(1)
    if not sums:
        raise DataError(f"{path} lists no files. Fix: restore it from git (git checkout -- data/SHA256SUMS).")
    return sums


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_mirror():
    """DATA_MIRROR if set (it must be a folder), else ../shared/data next to the project when it exists, else None."""
    if os.environ.get("DATA_MIRROR"):
        mirror = Path(os.environ["DATA_MIRROR"])
        if not mirror.is_dir():
            raise DataError(f"DATA_MIRROR={mirror} is not a folder. Fix: point DATA_MIRROR at the folder holding the "
                            "CSVs, or unset it to use ../shared/data or the public URLs.")
        return mirror
    candidate = PROJECT_DIR.parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None


def _copy_source(name, mirror, handle):
    """Write the file's bytes into the open temp file `handle`; say where they came from."""
    if mirror is not None and (Path(mirror) / name).is_file():
        with open(Path(mirror) / name, "rb") as source:
            shutil.copyfileobj(source, handle)
        return f"mirror {mirror}"
    if name not in URLS:
        raise DataError(f"{name}: no mirror copy and no public URL known")
    try:
        with urllib.request.urlopen(URLS[name], timeout=60) as response:
            shutil.copyfileobj(response, handle)
    except OSError as error:
        where = f"mirror {mirror} has no {name} and " if mirror else "no mirror folder and "
        raise DataError(f"{name}: {where}download of {URLS[name]} failed ({error}). "
                        "Fix: set DATA_MIRROR to a folder holding the CSVs, or restore network access.") from error
    return URLS[name]


def fetch_file(name, expected, data_dir=DATA_DIR, mirror=None, force=False):
    """Place one verified file in data_dir; return a one-line status. Raises DataError on any failure."""
    target = Path(data_dir) / name
    if target.is_file() and not force and sha256_of(target) == expected:
        return f"ok       {name} (already present)"
    handle = tempfile.NamedTemporaryFile(dir=data_dir, prefix=f".{name}.", suffix=".part", delete=False)
    try:
        with handle:
            origin = _copy_source(name, mirror, handle)
        actual = sha256_of(handle.name)
        if actual != expected:
            raise DataError(f"{name}: sha256 mismatch for the copy from {origin}: expected {expected}, got {actual}. "
                            "Fix: replace the source file with the published one (see data/README.md) or "
                            "point DATA_MIRROR at a correct copy.")
        os.chmod(handle.name, 0o644)  # NamedTemporaryFile creates 0600; data files are ordinary readable files
        os.replace(handle.name, target)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
    return f"fetched  {name} from {origin}"


def fetch_all(data_dir=DATA_DIR, mirror=None, force=False, checksums=CHECKSUMS):
    """Fetch every file in SHA256SUMS; return the list of failure messages (empty when all is well)."""
    failures = []
    for name, expected in read_checksums(checksums).items():
        try:
            print(fetch_file(name, expected, data_dir, mirror, force), flush=True)
        except DataError as error:
            failures.append(str(error))
    return failures


def main(argv):
    parser = argparse.ArgumentParser(prog="python data/fetch.py", description=__doc__.split("\n\n")[0],
                                     epilog="Environment: DATA_MIRROR, a folder to copy the CSVs from "
                                            "(default ../shared/data when it exists).")
    parser.add_argument("--force", action="store_true", help="fetch again even when a verified copy is present")
    args = parser.parse_args(argv)      # unknown flags: usage and exit code 2
    try:
        failures = fetch_all(mirror=default_mirror(), force=args.force)
    except DataError as error:
        failures = [str(error)]
    for message in failures:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
