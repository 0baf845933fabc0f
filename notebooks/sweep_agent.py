"""Run the report's W&B grid sweeps on many machines with W&B's sweep controller.

  python notebooks/sweep_agent.py create wine|housing          create the sweep, print its id
  python notebooks/sweep_agent.py agent wine|housing SWEEP_ID  work on it (run on as many machines as you like)

Each agent trains points with the same function the notebooks use (`helpers.sweep_trial`) on the same split.
"""
import argparse
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402

SWEEPS = {"wine": ("wine-mlp-grid", "val_accuracy", helpers.wine_split, "classification"),
          "housing": ("housing-mlp-grid", "val_r2", helpers.housing_split, "regression")}
PROJECT = "from-scratch-mlp"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python notebooks/sweep_agent.py",
        description="Run the report's W&B grid sweeps on many machines with W&B's sweep controller: `create` once, "
                    "then `agent` on every machine. Each agent trains grid points with the notebooks' own function "
                    "(helpers.sweep_trial) on the same split.",
        epilog=f"Results go to the W&B project {PROJECT}; run `wandb login` on each machine first.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{create,agent}")
    create = commands.add_parser("create", help="register the report's grid as a W&B sweep and print its id")
    create.add_argument("grid", choices=SWEEPS, help="which of the report's grids")
    agent = commands.add_parser("agent", help="work on a sweep until no grid point is left (on as many machines "
                                              "as you like)")
    agent.add_argument("grid", choices=SWEEPS, help="the grid the sweep was created with")
    agent.add_argument("sweep_id", metavar="SWEEP_ID", help="the id `create` printed")
    return parser.parse_args(argv)      # --help: usage, exit 0; an unknown option or a missing argument: exit 2


def main(argv):
    args = parse_arguments(argv)
    import wandb
    name, metric, make_split, task = SWEEPS[args.grid]
    if args.command == "create":
        print(wandb.sweep(helpers.report_sweep_config(name, metric), project=PROJECT))
        return 0
    # Under wandb.agent the train function is called without arguments; sweep_trial(None) reads run.config.
    wandb.agent(args.sweep_id, function=partial(helpers.sweep_trial, None, split=make_split(seed=0), task=task),
                project=PROJECT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
