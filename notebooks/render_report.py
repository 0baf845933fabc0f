"""Generate report.md from notebooks/report_template.md and the results files the notebooks wrote; then the PDF.

Every number in the report comes from results/*.json through a {{ expression }} placeholder; the template's own
text holds no result. Also refreshes the headline table in README.md (between the results markers).

Usage: python notebooks/render_report.py [--pdf]      (QUICK=1: build/quick/ instead of the committed outputs)
"""
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = NOTEBOOK_DIR.parent
sys.path.insert(0, str(PROJECT_DIR))
import helpers  # noqa: E402  (QUICK and OUTPUT_DIR: the notebooks' own rule for where results are)
TEMPLATE = NOTEBOOK_DIR / "report_template.md"
PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
RESULT_FILES = {"r1": "01_wine_mlp", "r2": "02_housing_regression", "r3": "03_mse_vs_bce", "r4": "04_autoencoder_knn"}
README_MARKERS = ("<!-- results:start -->", "<!-- results:end -->")


def number(value, digits=3):
    """A result as text: integers as they are, other numbers with `digits` decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float) and value != value:     # NaN: no value for this row (e.g. KNN has no training)
        return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 2):
        return f"{int(value):,}".replace(",", " ")
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"
    return str(value)


def plus_minus(summary, digits=3):
    """'mean ± std' from a {'mean': …, 'std': …} mapping."""
    return f"{number(summary['mean'], digits)} ± {number(summary['std'], digits)}"


def table(records, columns=None, digits=3, headers=None):
    """A markdown table of a list of dicts; `columns` picks and orders keys, `headers` renames them."""
    columns = columns or list(records[0])
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    for record in records:
        cells = [number(record.get(column), digits) if not isinstance(record.get(column), (list, dict))
                 else json.dumps(record.get(column)) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


OPTIMIZER_NAMES = {"sgd": "plain SGD (one row per step)", "mini_batch_gd": "mini-batch GD", "batch_gd": "full-batch GD",
                   "momentum": "momentum", "adam": "Adam"}


def config_text(config):
    """A training configuration as a phrase: 'hidden layers [20, 20], tanh, mini-batch GD, batch 32, ...'."""
    parts = [f"hidden layers {list(config['hidden_layers'])}" if "hidden_layers" in config else None,
             config.get("activation"), OPTIMIZER_NAMES.get(config.get("optimizer"), config.get("optimizer")),
             f"batch {config['batch_size']}" if config.get("optimizer") in ("mini_batch_gd", "momentum", "adam")
             else None,
             f"learning rate {config['learning_rate']}" if "learning_rate" in config else None,
             f"up to {config['epochs']} epochs" if "epochs" in config else None,
             f"early stopping after {config['patience']} epochs without improvement" if config.get("patience")
             else None]
    return ", ".join(str(part) for part in parts if part is not None)


def grid_text(grid):
    """A sweep grid as '4 hidden layer choices ([64], [32, 32], …) × …' → one phrase per parameter."""
    return "; ".join(f"{name.replace('_', ' ')} {', '.join(json.dumps(value) for value in values)}"
                     for name, values in grid.items())


def status_text(status):
    """{'finished': 380, 'diverged': 4} → '380 finished, 4 diverged'."""
    return ", ".join(f"{count} {state}" for state, count in status.items())


def find(records, **conditions):
    """The first record whose fields equal `conditions`."""
    return next(record for record in records if all(record.get(k) == v for k, v in conditions.items()))


def figure(name, caption):
    return f"![{caption}](figures/{name}.png)"


def load_results(results_dir):
    results = {}
    for short, name in RESULT_FILES.items():
        path = Path(results_dir) / f"{name}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run notebook {name}.ipynb first (make report).")
        results[short] = json.loads(path.read_text(encoding="utf-8"))
    return results


def render(template_text, results):
    """Fill every {{ expression }} of the template; an expression that fails names itself in the error."""
    # One namespace (not globals + locals) so that comprehensions inside an expression see the results too.
    namespace = {"__builtins__": {"len": len, "round": round, "max": max, "min": min, "sorted": sorted, "str": str},
                 **results, "number": number, "pm": plus_minus, "table": table, "find": find, "figure": figure,
                 "config_text": config_text, "grid_text": grid_text, "status_text": status_text}

    def fill(match):
        expression = match.group(1).strip()
        try:
            return str(eval(expression, namespace))
        except Exception as error:
            raise ValueError(f"report template: cannot fill {{{{ {expression} }}}}: {error!r}") from None

    return PLACEHOLDER.sub(fill, template_text)


def headline(results):
    """The README's results table: the part of the report between the headline markers."""
    text = render(TEMPLATE.read_text(encoding="utf-8"), results)
    start, end = text.index("<!-- headline:start -->"), text.index("<!-- headline:end -->")
    return text[start + len("<!-- headline:start -->"):end].strip()


def update_readme(results, readme=PROJECT_DIR / "README.md"):
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_MARKERS[0]) + len(README_MARKERS[0]), text.index(README_MARKERS[1])
    readme.write_text(text[:start] + "\n" + headline(results) + "\n" + text[end:], encoding="utf-8")


def write_pdf(markdown_path, pdf_path):
    """report.md → HTML (mistune, installed with nbconvert) → PDF printed by headless Chromium."""
    import mistune
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise FileNotFoundError("Chromium is needed for the PDF: `make report` installs it "
                                "(apt-get install chromium), or install it yourself.")
    body = mistune.create_markdown(plugins=["table"], escape=False)(markdown_path.read_text(encoding="utf-8"))
    style = ("body{font-family:'DejaVu Sans',sans-serif;font-size:10.5pt;max-width:46em;margin:auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:7.5pt;margin:0.6em 0;max-width:100%}"
             "td,th{border:1px solid #bbb;padding:2px 4px;overflow-wrap:anywhere}"
             "img{max-width:100%;max-height:10cm;display:block;margin:0.4em auto}"
             "h1,h2{page-break-after:avoid}tr,img{page-break-inside:avoid}")
    html = markdown_path.with_suffix(".html")
    html.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{style}</style></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                        html.as_uri()], check=True, capture_output=True, timeout=180)
    return pdf_path


def main(argv):
    quick = helpers.QUICK
    results = load_results(helpers.RESULTS_DIR)
    report = helpers.OUTPUT_DIR / "report.md"
    report.write_text(render(TEMPLATE.read_text(encoding="utf-8"), results), encoding="utf-8")
    print(f"wrote {report}")
    if not quick:
        update_readme(results)
        print("updated the results table in README.md")
    if "--pdf" in argv:
        pdf = write_pdf(report, PROJECT_DIR / "build" / ("report-quick.pdf" if quick else "report.pdf"))
        print(f"wrote {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
