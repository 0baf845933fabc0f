"""Execute the numbered notebooks headless, in order, and export each to HTML.

Executed copies go to build/notebooks/, HTML to build/html/ (quick mode: build/quick/…); the committed notebooks
stay output-free. The terminal shows each notebook's progress and time, and a failing cell's error; the kernel
process's own output goes to build/logs/<notebook>.kernel.log (shown when a notebook fails).
QUICK=1 in the environment selects quick mode in every notebook (read by helpers.QUICK).

Usage: python notebooks/execute.py [NOTEBOOK ...]      (default: notebooks/[0-9][0-9]_*.ipynb)
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbconvert import HTMLExporter
from traitlets.config import Config

NOTEBOOK_DIR = Path(__file__).resolve().parent
BUILD_DIR = NOTEBOOK_DIR.parent / "build"
sys.path.insert(0, str(NOTEBOOK_DIR.parent))
import helpers  # noqa: E402  (its QUICK flag is the one every notebook reads)
CELL_TIMEOUT = 1800   # seconds; the longest full-mode cell (a sweep) stays well below
SOCKET_PATH_MAX = 90  # characters; Unix socket paths are limited to 104 (macOS) or 108 (Linux)
LOG_LINES_SHOWN = 30  # of the kernel's own output, when a notebook fails


def numbered_notebooks():
    return helpers.report_notebooks()


def kernel_config(socket_dir):
    """How the runner talks to the kernel. On Linux and macOS over IPC: Unix sockets in a private folder, so no TCP
    port is opened (nothing to eavesdrop on, no port clash with other kernels on a shared machine) and ipykernel
    has no reason for its 'Kernel is running over TCP without encryption' warning. Windows has no IPC transport:
    TCP there, with CurveZMQ encryption where jupyter_client and pyzmq provide it."""
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(socket_dir) / "kernel")   # absolute: the kernel runs in notebooks/
    else:
        import zmq
        from jupyter_client import KernelManager
        if zmq.has("curve") and KernelManager.class_traits().get("transport_encryption") is not None:
            config.KernelManager.transport_encryption = "auto"
    return config


def private_folder():
    """A fresh folder only this user can enter, short enough for Unix socket paths: the kernel's sockets and its
    output while it runs."""
    base = None if len(tempfile.gettempdir()) < SOCKET_PATH_MAX - 40 or not os.path.isdir("/tmp") else "/tmp"
    return Path(tempfile.mkdtemp(prefix="nbkernel-", dir=base))


def kernel_log(path, build_dir=BUILD_DIR):
    return build_dir / "logs" / f"{path.stem}.kernel.log"


def execute_notebook(path, build_dir=BUILD_DIR):
    """Run one notebook from its own folder; write the executed copy and its HTML. Raises CellExecutionError (a
    cell failed) or DeadKernelError (the kernel died).

    The kernel process's own stdout and stderr go to build/logs/<notebook>.kernel.log (kept only when not empty),
    not to the terminal: what cells print, at Python or file-descriptor level, is in the notebook's outputs already
    (ipykernel forwards both), so the terminal would only get duplicates and the kernel's start-up and shut-down
    chatter. main() prints the log's end when a notebook fails."""
    notebook = nbformat.read(path, as_version=4)
    private = private_folder()
    try:
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", config=kernel_config(private),
                                resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
        with open(private / "kernel.log", "w", encoding="utf-8") as output:
            client.execute(stdout=output, stderr=output)         # passed on to the kernel's Popen
    finally:
        written = private / "kernel.log"
        kernel_output = written.read_text(encoding="utf-8", errors="replace") if written.is_file() else ""
        shutil.rmtree(private, ignore_errors=True)
        log = kernel_log(path, build_dir)
        if kernel_output.strip():
            helpers.write_atomic(log, kernel_output)
        elif log.is_file():
            log.unlink()                                         # no stale log from an earlier run
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
        except (CellExecutionError, DeadKernelError) as error:
            print(f"FAILED after {time.perf_counter() - started:.0f} s\n{error}", file=sys.stderr)
            log = kernel_log(path, build_dir)
            if log.is_file():
                tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_LINES_SHOWN:]
                print(f"\nThe kernel's own output (the last {len(tail)} lines of {log}):", *tail, sep="\n",
                      file=sys.stderr)
            print(f"\n{path.name} failed; the executed copy with the error is in {build_dir}/notebooks/.",
                  file=sys.stderr)
            return 1
        print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"All notebooks executed in {time.perf_counter() - total:.0f} s; HTML in {build_dir}/html/.")
    return 0


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python notebooks/execute.py",
        description="Execute notebooks headless, in order; write the executed copies to build/notebooks/ and "
                    "their HTML to build/html/ (the committed notebooks stay output-free).",
        epilog="Environment: QUICK=1 small grids and subsampled data, into build/quick/; FORCE_SWEEPS=1 recompute "
               "the sweeps instead of reading results/sweeps/; OUTPUT_DIR=DIR write everything under DIR.")
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebooks to run (default: every notebooks/[0-9][0-9]_*.ipynb)")
    args = parser.parse_args(argv)          # --help: usage, exit 0; an unknown option: usage, exit 2
    missing = [name for name in args.notebooks if not Path(name).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    return args


if __name__ == "__main__":
    sys.exit(main(parse_arguments(sys.argv[1:]).notebooks))
