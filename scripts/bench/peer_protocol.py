"""The worker protocol of `advlab bench` (lib/bench/worker.go), shared by the peer scripts.

torch_bench.py, tf_bench.py and jax_bench.py each define their workloads as "steppers" (a
function that builds the networks and returns a function running one training step) and hand them
to serve() or standalone(). serve() reads one JSON request per line on stdin and answers each with
a line "advlab-bench {json}" on stdout:

    {"cmd": "info"}                          -> {"ok": true, "info": {...}}
    {"cmd": "setup", "workload": "dcgan28"}  -> {"ok": true, "seconds": [first step]}
    {"cmd": "steps", "n": 3}                 -> {"ok": true, "seconds": [...]}
    {"cmd": "release"}                       -> {"ok": true}
    {"cmd": "matmul", "size": 2048, "n": 2}  -> {"ok": true, "seconds": [...]}
    {"cmd": "quit"}

A step function may carry an attribute `weights`, the number of matrix weights (kernels, no
biases or batch-norm parameters) of each network ({"generator": n, "discriminator": n}, or
{"model": n}); setup reports it and `advlab bench` refuses a cell whose networks differ from
advlab's.

A variant of a workload at another batch or width (lib/bench's LookupWorkload) is named with
options after slashes, "dcgan64/batch=128/ngf=32": the stepper is called with the batch and, as
keyword arguments, the other options (ngf=32); a peer whose stepper has no such parameter answers
that it does not implement the variant.

A workload a peer does not implement answers its setup with ok false and an error starting
"not implemented" (the report shows the cell as not run, with that reason).
"""

import argparse
import inspect
import json
import statistics
import sys
import time

RESPONSE_PREFIX = "advlab-bench "
# Batch per workload, as lib/bench/bench.go's Workloads.
BATCHES = {"dcgan28": 64, "dcgan64": 64, "vae": 128, "ssl": 100, "vaal": 64}


class NotImplementedWorkload(Exception):
    pass


def time_steps(step, n):
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return seconds


def parse(name):
    """Splits a workload name into (base, batch, options): "dcgan64/batch=128/ngf=32" gives
    ("dcgan64", 128, {"ngf": 32}); a plain name gives its batch from BATCHES and no options."""
    base, *parts = name.split("/")
    if base not in BATCHES:
        raise ValueError(f"unknown workload {base!r} (known: {', '.join(BATCHES)})")
    options = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not value.isdigit() or key in options:
            raise ValueError(f"workload {name!r}: option {part!r} is not a new KEY=INTEGER")
        options[key] = int(value)
    return base, options.pop("batch", BATCHES[base]), options


def make(steppers, name):
    base, batch, options = parse(name)
    if base not in steppers:
        raise NotImplementedWorkload(f"not implemented by this peer (it has {', '.join(steppers)})")
    accepted = inspect.signature(steppers[base]).parameters
    missing = [key for key in options if key not in accepted]
    if missing:
        raise NotImplementedWorkload(f"not implemented by this peer: {base} has no option {', '.join(missing)}")
    return steppers[base](batch, **options)


def serve(steppers, info, matmul):
    """Answers the protocol on stdin/stdout. steppers maps a workload to a function of the batch size
    returning a step function; info() returns a dict of strings; matmul(size, n) returns n timings."""
    step = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            resp = {"ok": True}
            if cmd == "quit":
                return
            if cmd == "info":
                resp["info"] = info()
            elif cmd == "setup":
                step = None
                step = make(steppers, req["workload"])
                if getattr(step, "weights", None) is not None:
                    resp["weights"] = step.weights
                resp["seconds"] = time_steps(step, 1)
            elif cmd == "steps":
                if step is None:
                    raise RuntimeError("steps before a successful setup")
                resp["seconds"] = time_steps(step, max(int(req.get("n", 1)), 1))
            elif cmd == "release":
                step = None
            elif cmd == "matmul":
                resp["seconds"] = matmul(int(req["size"]), max(int(req.get("n", 1)), 1))
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except NotImplementedWorkload as err:
            resp = {"ok": False, "error": str(err)}
        except Exception as err:  # reported to the Go side, which goes on without this cell
            resp = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        print(RESPONSE_PREFIX + json.dumps(resp), flush=True)


def standalone(steppers, info, matmul, workloads, steps, size):
    """Times every workload alone (first step, then the median of steps) and prints a table."""
    print(json.dumps(info()))
    mm = matmul(size, 3)
    print(f"matmul {size}^3 float32: best {2 * size ** 3 / min(mm) / 1e9:.1f} GFLOP/s")
    for name in workloads:
        step = make(steppers, name)
        if getattr(step, "weights", None) is not None:
            print(f"{name}: matrix weights {step.weights}")
        first = time_steps(step, 1)[0]
        median = statistics.median(time_steps(step, steps))
        batch = parse(name)[1]
        print(f"{name:8s} batch {batch:4d}  first step {first:.3f}s  step (median of {steps}) "
              f"{median:.3f}s  {batch / median:.1f} images/s")


def arguments(doc, steppers):
    """The flags every peer script has: --serve, and --steps, --workloads, --matmul for a run alone."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="speak the worker protocol of `advlab bench`")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per workload (standalone)")
    parser.add_argument("--workloads", default=",".join(steppers), help="comma-separated workloads (standalone)")
    parser.add_argument("--matmul", type=int, default=2048, help="matrix size of the peak measurement (standalone)")
    return parser


def run(args, steppers, info, matmul):
    """Serves the protocol (--serve) or times the workloads alone."""
    if args.serve:
        serve(steppers, info, matmul)
    else:
        standalone(steppers, info, matmul, list(filter(None, args.workloads.split(","))), args.steps, args.matmul)
