#!/usr/bin/python3
"""Executes advlab notebooks headless through the real GoNB kernel and checks their outputs.

Usage (run with Debian's /usr/bin/python3, which carries nbformat and nbclient):

    run_notebooks.py [--out build/notebooks] [--timeout 900] [--kernel gonb] NOTEBOOK...

Each notebook runs in the output directory, cell by cell, with a time limit per cell: what it
writes (its runs/ checkpoints) lands there, never next to the notebook, so a test run cannot touch
a model the user trained from the notebook. ADVLAB_ROOT tells the notebooks' setup cell where the
repository is (they fall back to `${GONB_DIR}/..`). The executed copy is written to the output
directory, failed or not. A notebook fails when

  * a cell raises an error (an `error` output, or an error reply from the kernel);
  * a cell prints a GoNB error as HTML (the kernel's error report when it runs without --raw_error);
  * a cell writes a Go panic or a Go runtime fatal error to stderr;
  * a cell tagged `expect-image` produced no image: an image/png or image/svg+xml output, or an
    <img> or <svg> in a text/html output;
  * the notebook's metadata "advlab": {"expect_images": N} asks for N image outputs in all and
    fewer came.

The notebooks choose their size themselves: the harness sets ADVLAB_SMOKE=1 unless it is already
set (export ADVLAB_SMOKE=0 for a full run), and passes the rest of its environment (ADVLAB_DATA,
GOMLX_BACKEND, ...) on to the kernel.

--expect-fail inverts the verdict (the harness's own test: a broken notebook must be caught).
The exit status is 0 when every notebook met its expectation.
"""

import argparse
import html as htmllib
import os
import re
import sys
import time
from datetime import datetime

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

IMAGE_MIME_TYPES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif")
HTML_IMAGE = re.compile(r"<(img|svg)\b", re.IGNORECASE)
# GoNB's HTML error report (internal/goexec/errorpublish.go) marks itself as stderr text.
HTML_GONB_ERROR = re.compile(r'data-mime-type="application/vnd\.jupyter\.stderr"|class="gonb-err', re.IGNORECASE)
STDERR_FAILURE = re.compile(r"\bpanic\b|^fatal error:", re.MULTILINE)
EXPECT_IMAGE_TAG = "expect-image"
# The repository: this file is kernel/harness/run_notebooks.py.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def output_has_image(output):
    data = output.get("data", {})
    if any(mime in data for mime in IMAGE_MIME_TYPES):
        return True
    html = data.get("text/html", "")
    if isinstance(html, list):
        html = "".join(html)
    return bool(HTML_IMAGE.search(html))


def text_of(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def cell_problems(cell):
    """Returns the reasons a code cell's outputs count as a failure."""
    problems = []
    stderr = "".join(text_of(o.get("text")) for o in cell.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")
    if STDERR_FAILURE.search(stderr):
        problems.append("stderr reports a panic or fatal error:\n" + stderr[-2000:])
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error":
            trace = "\n".join(output.get("traceback", []))[-2000:]
            problems.append(f"error output {output.get('ename', '')}: {output.get('evalue', '')}\n{trace}")
        elif kind in ("display_data", "execute_result", "update_display_data"):
            html = text_of(output.get("data", {}).get("text/html"))
            if HTML_GONB_ERROR.search(html):
                plain = re.sub(r"<style\b.*?</style>", "", html, flags=re.DOTALL | re.IGNORECASE)
                plain = htmllib.unescape(re.sub(r"<[^>]+>", "", plain))
                plain = re.sub(r"\n\s*\n+", "\n", plain).strip()
                problems.append("GoNB error report:\n" + plain[-2000:])
    if EXPECT_IMAGE_TAG in cell.get("metadata", {}).get("tags", []):
        if not any(output_has_image(o) for o in cell.get("outputs", [])):
            problems.append(f"cell is tagged {EXPECT_IMAGE_TAG!r} but produced no image")
    return problems


def parse_time(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def cell_label(index, cell):
    first = text_of(cell.get("source")).strip().splitlines()
    return f"cell {index} ({first[0][:60]!r})" if first else f"cell {index}"


def run_notebook(path, args):
    """Executes one notebook; returns (problems, seconds)."""
    nb = nbformat.read(path, as_version=4)
    workdir = os.path.abspath(args.out)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        kernel_name=args.kernel,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": workdir}},
    )
    problems = []
    os.makedirs(workdir, exist_ok=True)
    base = os.path.splitext(os.path.basename(path))[0]
    kernel_log_path = os.path.join(args.out, base + ".kernel.log")
    start = time.monotonic()
    try:
        # The kernel's own log goes to a file next to the executed notebook, not into the test output.
        with open(kernel_log_path, "w") as kernel_log:
            client.execute(stdout=kernel_log, stderr=kernel_log)
    except CellTimeoutError as err:
        problems.append(f"a cell ran past the {args.timeout}s limit: {str(err)[-500:]}")
    except DeadKernelError as err:
        problems.append(f"the kernel died: {err}")
    except CellExecutionError as err:
        problems.append(f"cell execution failed:\n{str(err)[-3000:]}")
    except Exception as err:  # kernel start-up failures and the like
        problems.append(f"{type(err).__name__}: {err}")
    seconds = time.monotonic() - start

    images = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        images += sum(1 for o in cell.get("outputs", []) if output_has_image(o))
        for problem in cell_problems(cell):
            problems.append(f"{cell_label(index, cell)}: {problem}")
    want = nb.metadata.get("advlab", {}).get("expect_images")
    if want is not None and images < int(want):
        problems.append(f"notebook metadata expects {want} image outputs, got {images}")

    out_path = os.path.join(args.out, os.path.basename(path))
    nbformat.write(nb, out_path)

    timings = []
    for index, cell in enumerate(nb.cells):
        execution = cell.get("metadata", {}).get("execution", {})
        began, ended = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if began and ended:
            timings.append(((parse_time(ended) - parse_time(began)).total_seconds(), index))
    slowest = ", ".join(f"cell {i} {s:.1f}s" for s, i in sorted(timings, reverse=True)[:3])
    print(f"    {images} image output(s); slowest: {slowest or 'n/a'}; wrote {out_path}", flush=True)
    if problems and not args.expect_fail:
        with open(kernel_log_path, errors="replace") as kernel_log:
            tail = kernel_log.read()[-3000:]
        problems.append(f"kernel log ({kernel_log_path}), last lines:\n{tail}")
    return problems, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--out", default="build/notebooks", help="directory for the executed notebooks")
    parser.add_argument("--timeout", type=int, default=int(os.environ.get("ADVLAB_CELL_TIMEOUT", "900")),
                        help="seconds one cell may run (ADVLAB_CELL_TIMEOUT)")
    parser.add_argument("--startup-timeout", type=int, default=120, help="seconds for the kernel to start")
    parser.add_argument("--kernel", default="gonb", help="kernelspec name")
    parser.add_argument("--expect-fail", action="store_true",
                        help="succeed only if every notebook fails (tests the harness itself)")
    args = parser.parse_args()
    os.environ.setdefault("ADVLAB_SMOKE", "1")
    os.environ.setdefault("ADVLAB_ROOT", REPO_ROOT)

    passed, failed = 0, 0
    for path in args.notebooks:
        print(f"=== {path} (ADVLAB_SMOKE={os.environ['ADVLAB_SMOKE']}, kernel {args.kernel})", flush=True)
        problems, seconds = run_notebook(path, args)
        ok = bool(problems) if args.expect_fail else not problems
        verdict = "PASS" if ok else "FAIL"
        if args.expect_fail:
            verdict += " (failure expected, " + ("caught" if problems else "NOT caught") + ")"
        print(f"--- {verdict} {path} ({seconds:.1f}s)", flush=True)
        for problem in problems:
            print("    " + problem.replace("\n", "\n    "), flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
    print(f"notebooks: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
