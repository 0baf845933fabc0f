"""Execute the numbered notebooks headless, in order, and export each to HTML.

Executed copies go to build/notebooks/, HTML to build/html/ (quick mode: build/quick/…); the committed notebooks
stay output-free.
QUICK=1 in the environment selects quick mode in every notebook (read by helpers.QUICK).

Usage: python notebooks/execute.py [NOTEBOOK ...]      (default: notebooks/[0-9][0-9]_*.ipynb)
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

NOTEBOOK_DIR = Path(__file__).resolve().parent
BUILD_DIR = NOTEBOOK_DIR.parent / "build"
sys.path.insert(0, str(NOTEBOOK_DIR.parent))
import helpers  # noqa: E402  (its QUICK flag is the one every notebook reads)
CELL_TIMEOUT = 1800   # seconds; the longest full-mode cell (a sweep) stays well below


def numbered_notebooks():
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path, build_dir=BUILD_DIR):
    """Run one notebook from its own folder; write the executed copy and its HTML. Raises CellExecutionError."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute()
    finally:
        helpers.write_atomic(build_dir / "notebooks" / path.name, nbformat.writes(notebook))
    html, _ = HTMLExporter().from_notebook_node(notebook)
    helpers.write_atomic(build_dir / "html" / path.with_suffix(".html").name, html)
    return notebook


def main(paths):
    paths = [Path(p).resolve() for p in paths] or numbered_notebooks()
    mode = "quick" if helpers.QUICK else "full"
    build_dir = BUILD_DIR / "quick" if mode == "quick" else BUILD_DIR     # quick runs never replace full outputs
    if os.environ.get("OUTPUT_DIR"):                                       # e.g. make verify: all in one folder
        build_dir = Path(os.environ["OUTPUT_DIR"]) / "build"
    print(f"Executing {len(paths)} notebook(s) in {mode} mode into {build_dir}/", flush=True)
    total = time.perf_counter()
    for path in paths:
        print(f"  {path.name} ...", end=" ", flush=True)
        started = time.perf_counter()
        try:
            execute_notebook(path, build_dir)
        except CellExecutionError as error:
            print(f"FAILED after {time.perf_counter() - started:.0f} s\n{error}", file=sys.stderr)
            print(f"\n{path.name} failed; the executed copy with the error is in {build_dir}/notebooks/.",
                  file=sys.stderr)
            return 1
        print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"All notebooks executed in {time.perf_counter() - total:.0f} s; HTML in {build_dir}/html/.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
