"""Run the report's W&B grid sweeps on many machines with W&B's sweep controller.

  python notebooks/sweep_agent.py create wine|housing          create the sweep, print its id
  python notebooks/sweep_agent.py agent wine|housing SWEEP_ID  work on it (run on as many machines as you like)

Each agent trains points with the same function the notebooks use (`helpers.sweep_trial`) on the same split.
"""
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402

SWEEPS = {"wine": ("wine-mlp-grid", "val_accuracy", helpers.wine_split, "classification"),
          "housing": ("housing-mlp-grid", "val_r2", helpers.housing_split, "regression")}
PROJECT = "from-scratch-mlp"


def main(argv):
    if len(argv) < 2 or argv[0] not in ("create", "agent") or argv[1] not in SWEEPS or \
            (argv[0] == "agent" and len(argv) != 3):
        print(__doc__, file=sys.stderr)
        return 2
    import wandb
    name, metric, make_split, task = SWEEPS[argv[1]]
    if argv[0] == "create":
        print(wandb.sweep(helpers.report_sweep_config(name, metric), project=PROJECT))
        return 0
    # Under wandb.agent the train function is called without arguments; sweep_trial(None) reads run.config.
    wandb.agent(argv[2], function=partial(helpers.sweep_trial, None, split=make_split(seed=0), task=task),
                project=PROJECT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
