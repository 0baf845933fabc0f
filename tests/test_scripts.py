"""Every script a user may call answers --help with its usage (exit 0, nothing else done) and refuses an unknown
option with its usage (exit 2). Fast: each script only parses its arguments."""
import os
import subprocess
import sys

import pytest

from conftest import PROJECT_DIR

SCRIPTS = {"notebooks/execute.py": "NOTEBOOK", "notebooks/export.py": "--pdf-if-possible",
           "notebooks/verify.py": "--committed DIR", "notebooks/sweep_agent.py": "create",
           "data/fetch.py": "--force", "benchmarks/bench.py": "--repeats"}
# What the scripts would write if they ran, besides OUTPUT_DIR and WANDB_DIR (a scratch folder here): make verify's
# folder, make bench's table and W&B's default folder (data/ is compared by its listing).
WATCHED = ("build/verify", "build/benchmark.md", "wandb")


def snapshot():
    """Modification time (or absence) of what a run would write, and the data folder's listing."""
    state = {name: (PROJECT_DIR / name).stat().st_mtime_ns if (PROJECT_DIR / name).exists() else None
             for name in WATCHED}
    return state, sorted(path.name for path in (PROJECT_DIR / "data").iterdir())


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """Run every script with --help and with an unknown option, all at once: {(script, case): (code, out, err)},
    with the project's outputs before and after, and the scratch folder they ran in."""
    scratch = tmp_path_factory.mktemp("scripts")
    environment = {**os.environ, "OUTPUT_DIR": str(scratch / "out"), "WANDB_DIR": str(scratch / "wandb"),
                   "WANDB_MODE": "disabled", "QUICK": "1"}
    before = snapshot()
    running = {(script, case): subprocess.Popen([sys.executable, str(PROJECT_DIR / script), argument], cwd=scratch,
                                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                text=True)
               for script in SCRIPTS for case, argument in (("help", "--help"), ("unknown", "--no-such-option"))}
    results = {}
    for key, process in running.items():
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:          # it is doing real work: stop it
            process.kill()
            out, err = process.communicate()
            err += "\n(killed after 120 s)"
        results[key] = (process.returncode, out, err)
    return results, before, snapshot(), scratch


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_prints_the_usage_and_does_nothing_else(script, answers):
    results, *_ = answers
    code, out, err = results[(script, "help")]
    assert code == 0, err
    assert out.startswith("usage: ") and SCRIPTS[script] in out
    assert err == ""


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_option_is_refused_with_the_usage(script, answers):
    results, *_ = answers
    code, out, err = results[(script, "unknown")]
    assert code == 2
    assert out == ""
    assert err.startswith("usage: ") and "error:" in err


def test_nothing_was_executed_or_written(answers):
    results, before, after, scratch = answers
    assert after == before
    assert sorted(path.name for path in scratch.iterdir()) == []
    for code, out, err in results.values():
        assert "Executing" not in out + err and "Traceback" not in err
