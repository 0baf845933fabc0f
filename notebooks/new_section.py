"""Start a new report section: write notebooks/NN_<name>.ipynb, numbered after the last section, from a template
that runs as it is (scikit-learn's breast-cancer data, our MLP against a random forest and the majority class over
all rows) and that you then edit. `make report` picks it up and places it before the summary's closing sections.

Usage: python notebooks/new_section.py NAME "Title of the section"      (make section NAME=… TITLE="…")
"""
import argparse
import re
import sys
from pathlib import Path

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(NOTEBOOK_DIR.parent))
import helpers  # noqa: E402  (the notebooks' running order)

SETUP = '''import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))

from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier

import helpers
from helpers import interval, number, show, verdict

QUICK, _ = helpers.notebook_setup()
results = {"quick": QUICK}
FOLDS, REPEATS = (3, 2) if QUICK else (10, 2)'''

DATA = '''# The data: any table of features and a target. Rows fits preprocessing (here standardising) on each fold's
# training rows only. For a CSV, write a loader in helpers.py's data section (README, "Add a data set").
data = load_breast_cancer(as_frame=True)
rows = helpers.Rows(data.data, data.target, "classification", preprocess=helpers.standardiser())
results["data"] = {"rows": len(rows.y), "features": rows.X.shape[1], "positive_rate": float(rows.y.mean())}'''

COMPARE = '''# Every model on the same folds; the MLP chooses its configuration inside each fold (HoldoutSelection).
# cross_validate_models seeds every model by its fold, so no random_state is needed here.
candidates = [helpers.mlp_from_config(dict(hidden_layers=layers, activation="relu", optimizer="adam",
                                           learning_rate=0.001, batch_size=32, epochs=30 if QUICK else 300),
                                      patience=20) for layers in ([16], [64])]
models = {"MLP": helpers.HoldoutSelection(candidates), "random forest": RandomForestClassifier(n_jobs=1),
          "majority class": DummyClassifier()}
folds = helpers.repeated_folds(rows.y, FOLDS, REPEATS)
all_rows = helpers.cross_validate_models(models, rows, folds, "@NAME@-all-rows")
results["summary_table"] = all_rows.summary("accuracy")
results["comparisons"] = [all_rows.compare("MLP", baseline, "accuracy") for baseline in ("random forest",
                                                                                          "majority class")]'''

PROSE = '''# Each sentence once, as an f-string: numbers through number(), differences through interval(),
# comparison words through verdict(), so that a re-run with other numbers never leaves a false sentence.
forest, majority = results["comparisons"]
show(f"""Over all {number(results["data"]["rows"])} rows, the MLP is {verdict(forest, within="within noise of")}
the random forest (MLP − forest {interval(forest, points=True)}) and {verdict(majority)} the majority class
({interval(majority, points=True)}).""")
helpers.show_table([{"model": row["model"], "accuracy": helpers.plus_minus(row)} for row in results["summary_table"]],
                   caption=f"Accuracy over all rows, mean ± standard deviation over {FOLDS * REPEATS} folds.")
helpers.show_table(helpers.comparison_rows(results["comparisons"], points=True),
                   caption="The MLP minus each baseline, accuracy points.")'''

SUMMARY = '''# What the summary quotes: a headline row and one finding (in words not used above).
results["summary"] = {
    "section": @NUMBER@,
    "headline": [{"task": "@TITLE@: accuracy", "measured on": f"all {number(results['data']['rows'])} rows, "
                                                          f"{FOLDS}-fold × {REPEATS}",
                  "this project": helpers.plus_minus(helpers.find(results["summary_table"], model="MLP")),
                  "baselines on the same folds": "; ".join(
                      f"{row['model']} {helpers.plus_minus(row)}" for row in results["summary_table"][1:]),
                  "model − baseline": f"MLP − forest {interval(forest, points=True)}: "
                                      f"{verdict(forest, within='within noise')}"}],
    "finding": f"@TITLE@: the MLP is {verdict(forest, 'ahead of', 'behind', 'within noise of')} a random forest "
               "over all rows."}
helpers.save_results("@STEM@", results)'''


def section_notebook(stem, name, title, number):
    """The template notebook of section `number`: a notebook-only setup cell, the heading, then cells to edit."""
    cells = [nbformat.v4.new_code_cell(SETUP, metadata={"tags": ["notebook-only"]}),
             nbformat.v4.new_markdown_cell(f"## {number} {title}"),
             *(nbformat.v4.new_code_cell(source.replace("@NAME@", name).replace("@TITLE@", title)
                                         .replace("@NUMBER@", str(number)).replace("@STEM@", stem))
               for source in (DATA, COMPARE, PROSE, SUMMARY))]
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})


def next_section(folder):
    """(file number, section number) after the last notebook and the last section: the file takes a number no
    notebook has (the summary included), and the summary keeps its place at the end whatever its number."""
    notebooks = helpers.report_notebooks(folder)
    sections = [path for path in notebooks if not path.stem.endswith("_summary")]
    last_file = max((int(path.name[:2]) for path in notebooks), default=0)
    headings = [re.match(r"## (\d+) ", cell.source) for path in sections
                for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]
    last_section = max((int(match.group(1)) for match in headings if match), default=1)
    return last_file + 1, last_section + 1


def main(argv, folder=NOTEBOOK_DIR):
    parser = argparse.ArgumentParser(prog="python notebooks/new_section.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a short file name: letters, digits and underscores (e.g. breast_cancer)")
    parser.add_argument("title", help='the section\'s heading (e.g. "Breast cancer")')
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.name):
        parser.error(f"NAME {args.name!r} must be lower-case letters, digits and underscores, starting with a letter")
    taken = [path.name for path in folder.glob(f"[0-9][0-9]_{args.name}.ipynb")]
    if taken:
        parser.error(f"a section named {args.name!r} exists already ({taken[0]}): choose another NAME")
    file_number, section = next_section(folder)
    path = folder / f"{file_number:02d}_{args.name}.ipynb"
    nbformat.write(section_notebook(path.stem, args.name.replace("_", "-"), args.title, section), path)
    print(f"wrote {path.relative_to(folder.parent)}: section {section}, '{args.title}'. Edit it, then run "
          "`make report QUICK=1` to see it in build/quick/report.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
