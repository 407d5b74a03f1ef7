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

Nothing is written into the repository's notebooks. When Jupyter, nbclient or the kernel is
missing, the JSON says "skipped" with the reason, and the exit status is still 0, so that the
benchmark goes on without this line.
"""

import argparse
import json
import os
import sys
import time

TRIVIAL_CELL = '%%\nfmt.Println("one more cell")'


def run_once(nbformat, NotebookClient, cells, workdir, kernel, timeout, log):
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
            client.execute_cell(cell, index)
            timings.append(time.monotonic() - began)
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                raise RuntimeError(f"cell {index} failed: {errors[0].get('evalue', '')}")
    return kernel_seconds, timings


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
        result.update({
            "kernel_start_seconds": warm_kernel,
            "cells": [{"label": label, "seconds": s} for label, s in zip(labels, warm)],
            "cold": {"kernel_start_seconds": cold_kernel,
                     "cells": [{"label": label, "seconds": s} for label, s in zip(labels, cold)]},
            "gomlx_backend": os.environ.get("GOMLX_BACKEND", ""),
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
