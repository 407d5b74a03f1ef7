#!/usr/bin/env python3
"""The report of scripts/bench/quality.sh: for each network and run, the steps and training time
until the quality bar held (or that it did not within the limit, with the last evaluation's
numbers), into OUT/quality.json and OUT/quality.md.

    scripts/bench/quality_report.py OUT LIMIT ARCH [ARCH ...] -- RUN [RUN ...]
"""

import json
import os
import sys

NAMES = {"go": "advlab, pure Go", "xla": "advlab, XLA CPU", "torch": "PyTorch"}


def row(out, arch, run, limit):
    d = os.path.join(out, f"{run}-{arch}")
    r = {"arch": arch, "run": run, "name": NAMES.get(run, run)}
    try:
        with open(os.path.join(d, "not-run")) as f:
            r["not_run"] = f.read().strip()
            return r
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(d, "metrics.json")) as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        r["not_run"] = f"no metrics.json in {d}: {e}"
        return r
    evals = m.get("evaluations") or []
    reached = m.get("target_reached")
    r.update(backend=m.get("backend"), steps=m.get("steps"), seconds=m.get("seconds"),
             images_per_second=m.get("images_per_second"), evaluations=evals, reached=reached,
             time_limit_reached=bool(m.get("time_limit_reached")))
    return r


def cell(r, limit):
    if "not_run" in r:
        return [r["name"], r["not_run"], "", "", ""]
    last = r["reached"] or (r["evaluations"][-1] if r["evaluations"] else None)
    numbers = "no evaluation" if last is None else (
        f"IS {last['inception_score']:.2f}, KID {last['kid']:.3f}, precision {last['precision']:.2f}, "
        f"recall {last['recall']:.2f}, {last['classes_covered']}/10 classes (step {last['step']:,})")
    speed = f"{r['images_per_second']:.0f}" if r.get("images_per_second") else ""
    if r["reached"]:
        return [r["name"], f"**{r['reached']['step']:,}**", f"**{r['reached']['train_seconds']:.0f} s**", numbers, speed]
    if r.get("time_limit_reached"):
        return [r["name"], f"not within {r['steps']:,}", f"not within {float(limit):.0f} s", numbers, speed]
    return [r["name"], f"not within {r['steps']:,} (the step limit)", f"not within {r['seconds']:.0f} s", numbers, speed]


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 5:
        raise SystemExit(__doc__)
    sep = args.index("--")
    out, limit, archs, runs = args[0], args[1], args[2:sep], args[sep + 1:]
    rows = [row(out, a, r, limit) for a in archs for r in runs]
    with open(os.path.join(out, "quality.json"), "w") as f:
        json.dump({"time_limit_seconds": float(limit), "runs": rows}, f, indent=1)
        f.write("\n")
    lines = [f"Time to the quality bar (training only; each run stops at the bar or after {float(limit):.0f} s of training)", ""]
    for a in archs:
        lines += [f"### {a}", "", "| run | steps to the bar | training time to it | the bar's evaluation, or the last | images/s |",
                  "|---|---:|---:|---|---:|"]
        lines += ["| " + " | ".join(cell(r, limit)) + " |" for r in rows if r["arch"] == a]
        lines.append("")
    text = "\n".join(lines)
    with open(os.path.join(out, "quality.md"), "w") as f:
        f.write(text)
    print(text)
    if os.environ.get("QUALITY_STRICT") == "1":
        empty = [f"{r['name']} on {r['arch']}" for r in rows if "not_run" not in r and not r["evaluations"]]
        if empty:
            raise SystemExit(f"quality_report.py: no evaluation in {', '.join(empty)}: the judge never ran")


if __name__ == "__main__":
    main()
