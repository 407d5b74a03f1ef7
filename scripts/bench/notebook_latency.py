#!/usr/bin/python3
"""Times a notebook's first cells through the GoNB kernel: the latency a student sees.

Usage (Debian's /usr/bin/python3, which carries nbformat and nbclient; the Makefile's `bench`
target runs it with the harness's kernelspec, JUPYTER_DATA_DIR=build/jupyter):

    notebook_latency.py [--notebook notebooks/00_setup.ipynb] [--cells 2] [--out build/bench-notebook.json]

It takes the first --cells code cells of the notebook (the module pins and the backend cell, which
every advlab notebook starts with), runs them in a fresh kernel twice from the notebook's folder,
and reports the second run: the kernel start and each cell's wall time, plus a trivial cell
(`%% fmt.Println`) that shows the cost of one more small cell once everything is built. The first
run fills GoNB's module and Go's build caches; it is reported as "cold" (on a machine where the
caches were already warm, it is warm too).

Then it finds where GoNB spends a warm cell's time: a third run uses a copy of the kernelspec with
GoNB's log at -v=2 (klog lines with microsecond timestamps at each stage of a cell), and splits each
cell into: reaching the kernel, parsing the cell into main.go, goimports, `go build` (compile and
link) and running the program. A fourth run does the same without the kernelspec's
GOFLAGS=-ldflags=-s (a link without the symbol table and DWARF), to show what that flag saves.

Nothing is written into the repository's notebooks. When Jupyter, nbclient or the kernel is
missing, the JSON says "skipped" with the reason, and the exit status is still 0, so that the
benchmark goes on without this line.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

TRIVIAL_CELL = '%%\nfmt.Println("one more cell")'


def run_once(nbformat, NotebookClient, cells, workdir, kernel, timeout, log, marks=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": workdir}})
    start = time.monotonic()
    timings = []
    with client.setup_kernel(stdout=log, stderr=log):
        kernel_seconds = time.monotonic() - start
        for index, cell in enumerate(nb.cells):
            began = time.monotonic()
            if marks is not None:
                marks.append([seconds_of_day(time.time()), None])
            client.execute_cell(cell, index)
            timings.append(time.monotonic() - began)
            if marks is not None:
                marks[-1][1] = seconds_of_day(time.time())
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                raise RuntimeError(f"cell {index} failed: {errors[0].get('evalue', '')}")
    return kernel_seconds, timings


def seconds_of_day(t):
    """Seconds since local midnight of the Unix time t, with microseconds (klog's clock)."""
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)


# GoNB's klog lines (-v=2) at the end of each stage of a cell, in order, and the stage each ends.
STAGES = [
    ("ExecuteCell: after s.parseLinesAndComposeMain()", "parse"),
    ("ExecuteCell: after s.GoImports()", "goimports"),
    ("ExecuteCell: after s.Compile()", "go build"),
]
SESSION = re.compile(r"^(\x1b\[[0-9;]*m)?\[[0-9a-f]+\](\x1b\[0m)?\s*")
KLOG = re.compile(r"^[IWEF]\d{4} (\d\d):(\d\d):(\d\d\.\d+)\s+\d+ \S+\] (.*)$")


def breakdown(log_path, marks):
    """Splits each timed cell by GoNB's stage lines; cells without them (shell cells) get none."""
    events = []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = KLOG.match(line.strip())
            if m:
                text = SESSION.sub("", m[4])  # GoNB prefixes its session id, in colour
                events.append((int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3]), text))
    cells = []
    for start, end in marks:
        mine = [(t, text) for t, text in events if start <= t <= end]
        began = next((t for t, text in mine if text.startswith("ExecuteCell: [") or text.startswith("ExecuteCell: \"")), None)
        if began is None:
            cells.append(None)
            continue
        stages, last = {"to the kernel": began - start}, began
        for marker, name in STAGES:
            t = next((t for t, text in mine if text.startswith(marker)), None)
            if t is None:
                break
            stages[name], last = t - last, t
        stages["run"] = end - last
        cells.append({k: round(v, 3) for k, v in stages.items()})
    return cells


def timed_kernel(kernel, tmp, keep_goflags):
    """Writes a copy of kernel's spec with GoNB's log at -v=2 under tmp; returns its name."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = KernelSpecManager().get_kernel_spec(kernel).resource_dir
    with open(os.path.join(spec_dir, "kernel.json")) as f:
        spec = json.load(f)
    spec["argv"] = ["-v=2" if a.startswith("-v=") else a for a in spec["argv"]]
    name = f"{kernel}-timed" + ("" if keep_goflags else "-no-goflags")
    if not keep_goflags:
        spec.setdefault("env", {}).pop("GOFLAGS", None)
    os.makedirs(os.path.join(tmp, "kernels", name), exist_ok=True)
    with open(os.path.join(tmp, "kernels", name, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="notebooks/00_setup.ipynb")
    parser.add_argument("--cells", type=int, default=2, help="how many of its first code cells to time")
    parser.add_argument("--kernel", default="gonb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may take")
    parser.add_argument("--out", default="build/bench-notebook.json")
    args = parser.parse_args()

    result = {"notebook": os.path.basename(args.notebook)}
    try:
        import nbformat
        from nbclient import NotebookClient

        source = nbformat.read(args.notebook, as_version=4)
        cells = [c.source for c in source.cells if c.cell_type == "code"][:args.cells]
        labels = [f"cell {i + 1}" for i in range(len(cells))] + ["one more cell"]
        cells.append(TRIVIAL_CELL)
        workdir = os.path.dirname(os.path.abspath(args.notebook))
        # The kernel's own log goes next to the JSON, not into the benchmark's output.
        with open(os.path.splitext(os.path.abspath(args.out))[0] + ".kernel.log", "w") as log:
            cold_kernel, cold = run_once(nbformat, NotebookClient, cells, workdir, args.kernel, args.timeout, log)
            warm_kernel, warm = run_once(nbformat, NotebookClient, cells, workdir, args.kernel, args.timeout, log)
        stages = {}
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["JUPYTER_PATH"] = tmp + os.pathsep + os.environ.get("JUPYTER_PATH", "")
            for keep, key in ((True, "gonb_stages"), (False, "gonb_stages_without_goflags")):
                name = timed_kernel(args.kernel, tmp, keep)
                log_path = os.path.splitext(os.path.abspath(args.out))[0] + f".{name}.log"
                marks = []
                with open(log_path, "w") as log:
                    run_once(nbformat, NotebookClient, cells, workdir, name, args.timeout, log, marks)
                stages[key] = [{"label": label, "stages": st} for label, st in zip(labels, breakdown(log_path, marks)) if st]
        result.update({
            "kernel_start_seconds": warm_kernel,
            "cells": [{"label": label, "seconds": s} for label, s in zip(labels, warm)],
            "cold": {"kernel_start_seconds": cold_kernel,
                     "cells": [{"label": label, "seconds": s} for label, s in zip(labels, cold)]},
            "gomlx_backend": os.environ.get("GOMLX_BACKEND", ""),
            **stages,
        })
    except Exception as err:  # no Jupyter, no kernel, a failing cell: say so and let the benchmark go on
        result["skipped"] = f"{type(err).__name__}: {err}"[:500]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print("notebook latency:", json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
