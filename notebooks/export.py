"""Assemble the report from the executed notebooks: report.md, report.html, the PDF and README's results table.

The notebooks are the report. Their markdown cells and the markdown their code cells display (helpers.show,
show_table, show_figure) become report.md; code, printed output and the notebooks' own tables and plots stay in
the notebooks. Cells tagged `notebook-only` are left out; the output of the cell tagged `headline` is also copied
into README.md. Sections are ordered by their number, so notebook 03's section 3.5 sits inside notebook 02's
section 3; the summary's unnumbered parts (title, headline) come first, and the appendix ('## Appendix',
'### A.2.3 …') last, after a page break.

Usage: python notebooks/export.py [--pdf | --pdf-if-possible | --find-browser]
(QUICK=1: from build/quick/notebooks into build/quick/; the committed outputs are never touched.)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
import helpers  # noqa: E402  (QUICK and OUTPUT_DIR: where the notebooks wrote their outputs)

README_MARKERS = ("<!-- results:start -->", "<!-- results:end -->")
SECTION_HEADING = re.compile(r"^#{1,3} (A\.)?(\d+)(?:\.(\d+))?")
APPENDIX_HEADING = re.compile(r"^#{1,2} Appendix")
PAGE_BREAK = "<div style='page-break-before: always'></div>"
ANY_HEADING = re.compile(r"^(?=#{1,3} )", re.MULTILINE)


class ReportOutputs(Preprocessor):
    """Keep, of every code cell's outputs, only what the report shows: displayed markdown, and figures shown by
    helpers.show_figure, turned into a link to their file in figures/."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [kept for kept in map(self.report_output, cell.outputs) if kept is not None]
        return cell, resources

    @staticmethod
    def report_output(output):
        if output.output_type not in ("display_data", "execute_result"):
            return None
        figure = output.get("metadata", {}).get("report_figure")
        if figure:
            # The caption follows as its own line; the image's alt text is its label, so the caption is read once.
            markdown = f"![{figure['caption'].split(' — ')[0]}]({figure['path']})"
        elif "text/markdown" in output.get("data", {}):
            markdown = output.data["text/markdown"]
        else:
            return None
        return nbformat.v4.new_output("display_data", data={"text/markdown": markdown})


def notebook_markdown(notebook):
    """The report's part of one executed notebook, as markdown."""
    exporter = MarkdownExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"notebook-only"}), enabled=True)
    exporter.register_preprocessor(ReportOutputs(), enabled=True)
    markdown, _ = exporter.from_notebook_node(notebook)
    return markdown


def section_key(chunk, previous):
    """(major, minor) for '### 2.3 …', (99,) for the appendix's heading and (99, major, minor) for '### A.2.3 …';
    a part without a number keeps the key of the part before it ((0,) at a notebook's start: title, headline)."""
    if APPENDIX_HEADING.match(chunk):
        return (99,)
    match = SECTION_HEADING.match(chunk)
    if not match:
        return previous
    number = (int(match.group(2)), int(match.group(3) or 0))
    return (99, *number) if match.group(1) else number


def assemble(notebooks):
    """report.md's text: every notebook's report part, cut at its headings and ordered by section number."""
    keyed = []
    for notebook in notebooks:
        key = (0,)
        for chunk in ANY_HEADING.split(notebook_markdown(notebook)):
            if chunk.strip():
                key = section_key(chunk, key)
                keyed.append((key, chunk.strip()))
    ordered = [PAGE_BREAK + "\n\n" + chunk if APPENDIX_HEADING.match(chunk) else chunk
               for _, chunk in sorted(keyed, key=lambda item: item[0])]          # stable: parts keep their order
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(ordered)) + "\n"


def tagged_markdown(notebooks, tag):
    """The markdown output of the cell tagged `tag` (the headline table), or None."""
    for notebook in notebooks:
        for cell in notebook.cells:
            if tag in cell.metadata.get("tags", []):
                outputs = [ReportOutputs.report_output(output) for output in cell.get("outputs", [])]
                return "\n\n".join(output.data["text/markdown"] for output in outputs if output is not None)
    return None


def update_readme(headline, readme=PROJECT_DIR / "README.md"):
    """Put the headline table between README's results markers."""
    text = readme.read_text(encoding="utf-8")
    if not all(marker in text for marker in README_MARKERS):
        raise ValueError(f"{readme} lacks the markers {' and '.join(README_MARKERS)}: restore them around the "
                         "results table (git checkout -- README.md).")
    start = text.index(README_MARKERS[0]) + len(README_MARKERS[0])
    end = text.index(README_MARKERS[1])
    helpers.write_atomic(readme, text[:start] + "\n" + headline.strip() + "\n" + text[end:])


def executed_notebooks(build_dir, sources=None):
    """The executed copies of the numbered notebooks of notebooks/ (or of `sources`), each newer than its source and
    than helpers.py (whose wording the notebooks print) and free of errors, so that a stale or failed run cannot end
    up in the report."""
    sources = list(sources or helpers.report_notebooks())
    engine = Path(helpers.__file__)
    notebooks = []
    for source in sources:
        executed = build_dir / "notebooks" / source.name
        if not executed.is_file() or executed.stat().st_mtime < max(source.stat().st_mtime, engine.stat().st_mtime):
            raise FileNotFoundError(f"{executed} is missing or older than {source.name} or helpers.py: run "
                                    "`make notebooks` first.")
        notebook = nbformat.read(executed, as_version=4)
        if any(output.get("output_type") == "error" for cell in notebook.cells for output in cell.get("outputs", [])):
            raise ValueError(f"{executed} holds an error: fix {source.name} and run `make notebooks` again.")
        notebooks.append(notebook)
    return notebooks


# --- HTML and PDF --------------------------------------------------------------------------------------------
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_PATHS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                 "/Applications/Chromium.app/Contents/MacOS/Chromium")
PDF_HINT = ("install Chrome or Chromium (Debian/Ubuntu as root: apt-get install chromium; macOS: brew install --cask "
            "chromium), then run `make pdf`")
# $…$ formulas; an opening $ followed by a digit is money ($1000s), not mathematics.
INLINE_MATH = re.compile(r"(?<![\w$])\$(?!\d)((?:[^$\n]|\n(?!\n))+?)\$")    # may cross a line break, not a paragraph
STYLE = ("@page{size:A4;margin:1.4cm 1.5cm}"
         "body{font-family:'DejaVu Sans',sans-serif;font-size:9.3pt;max-width:52em;margin:auto;line-height:1.3}"
         "table{border-collapse:collapse;font-size:7pt;margin:0.5em 0;max-width:100%}"
         "td,th{border:1px solid #bbb;padding:1px 3px;overflow-wrap:break-word}"
         "img{max-width:100%;max-height:5.3cm;display:block;margin:0.3em auto}"
         "h1,h2,h3{page-break-after:avoid;margin:0.7em 0 0.3em}p{margin:0.4em 0}"
         "tr,img{page-break-inside:avoid}")


def find_browser():
    """A Chrome/Chromium executable under its usual names (PATH) or macOS application paths, or None."""
    for name in BROWSER_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    return next((path for path in BROWSER_PATHS if Path(path).is_file()), None)


def math_to_mathml(markdown):
    """Every $…$ formula as MathML, which browsers render without a network connection."""
    from latex2mathml.converter import convert
    return INLINE_MATH.sub(lambda match: convert(match.group(1).replace("\n", " ")), markdown)


def write_html(markdown_path):
    """report.md → report.html beside it (mistune, installed with nbconvert), styled for reading and printing."""
    import mistune
    body = mistune.create_markdown(plugins=["table"], escape=False)(
        math_to_mathml(markdown_path.read_text(encoding="utf-8")))
    html = markdown_path.with_suffix(".html")
    helpers.write_atomic(html, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report</title>"
                               f"<style>{STYLE}</style></head><body>{body}</body></html>")
    return html


def print_pdf(html, pdf_path, browser):
    """Print an HTML file to PDF with headless Chrome/Chromium (into a temporary name, renamed when complete)."""
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    printed = pdf_path.with_name(f".{pdf_path.name}.part")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={printed}",
                        html.as_uri()], check=True, capture_output=True, timeout=180)
    os.replace(printed, pdf_path)
    return pdf_path


def build_dir():
    if os.environ.get("OUTPUT_DIR"):
        return Path(os.environ["OUTPUT_DIR"]) / "build"
    return PROJECT_DIR / "build" / ("quick" if helpers.QUICK else "")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python notebooks/export.py",
        description="Assemble report.md and report.html from the executed notebooks in build/notebooks/ (run "
                    "`make notebooks` first) and copy the headline table into README.md.",
        epilog="Environment: QUICK=1 reads build/quick/notebooks and writes into build/quick/ (README.md is left "
               "alone); OUTPUT_DIR=DIR reads and writes under DIR.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--pdf", action="store_true",
                        help="also print build/report.pdf with headless Chrome/Chromium; fail if none is found")
    action.add_argument("--pdf-if-possible", action="store_true",
                        help="print the PDF when a browser is found, otherwise say how to get it and succeed")
    action.add_argument("--find-browser", action="store_true",
                        help="only print the Chrome/Chromium used for the PDF (exit 1 if none is found)")
    return parser.parse_args(argv)      # --help: usage, exit 0; an unknown option: usage, exit 2


def main(argv):
    """--find-browser: print the browser's path (exit 1 if none); --pdf: also print the PDF, failing if no browser
    can; --pdf-if-possible: print it when a browser is found, otherwise say how to get it and succeed (report.md and
    the HTML are written either way)."""
    args = parse_arguments(argv)
    if args.find_browser:
        browser = find_browser()
        print(browser or f"no Chrome/Chromium found: {PDF_HINT}")
        return 0 if browser else 1
    notebooks = executed_notebooks(build_dir())
    report = helpers.OUTPUT_DIR / "report.md"
    helpers.write_atomic(report, assemble(notebooks))
    html = write_html(report)
    print(f"wrote {report} and {html.name}")
    headline = tagged_markdown(notebooks, "headline")
    if not helpers.QUICK and not os.environ.get("OUTPUT_DIR") and headline:
        update_readme(headline)
        print("updated the results table in README.md")
    if args.pdf or args.pdf_if_possible:
        browser = find_browser()
        if browser is None:
            message = f"no Chrome/Chromium found, so no PDF: {PDF_HINT}."
            if args.pdf:
                print(f"ERROR: {message}", file=sys.stderr)
                return 1
            print(f"PDF skipped: {message}")
            return 0
        pdf = print_pdf(html, build_dir() / "report.pdf", browser)
        print(f"wrote {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
