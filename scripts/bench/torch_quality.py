#!/usr/bin/env python3
"""PyTorch's side of the time-to-quality benchmark: the networks and loop of `advlab train gan`,
trained on MNIST until advlab's quality bar holds or a training-time limit runs out.

    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 build/peers/torch/bin/python scripts/bench/torch_quality.py \\
        --arch dcgan28 --lr 2e-4 --beta1 0.5 --time-limit 300 --eval-every 200 --out build/bench-quality/torch-dcgan28

The networks are scripts/fixtures/gan_steps.py's, the ones the parity tests check advlab's
against step for step: dcgan28 (the TensorFlow tutorial's, Keras initialisation, dropout 0.3 in
D) and mlp-labml (labml's LeakyReLU MLP, weights N(0, 0.02)). The loop is advlab's (and
pytorch/examples' dcgan's): each epoch a new permutation of the 60,000 training digits in [-1, 1],
the last partial batch dropped; per step a discriminator update on a real and a generated batch,
then a generator update on the same generated batch re-scored (non-saturating loss, BCE on
logits); Adam on both.

Every --eval-every steps the generator (batch norms on each batch's statistics, as advlab samples)
draws --eval-samples images from fixed noise, in chunks of 256, into DIR/samples_step_N.npy, and
`advlab judge` measures them on advlab's evaluator against the same real-data floor as `advlab
train gan -until recognisable`. Training stops at the first evaluation that passes the bar, or at
the first step after --time-limit seconds of training. Only training is timed: sampling and
judging are not. DIR/metrics.json has the fields of advlab's metrics.json that the benchmark's
report reads (evaluations with train_seconds, target_reached, time_limit_reached).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
from gan_steps import dcgan28, mlp, with_dropout  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))
from improved_gan_mnist import load_mnist  # noqa: E402

SAMPLE_CHUNK = 256  # lib/trainloop.SampleChunk: advlab samples in chunks of this many
SAMPLE_SEED = 12345


def keras_init(module):
    """Keras' defaults, as advlab's nn.InitKeras: glorot-uniform weights, zero biases, BN 1 and 0."""
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def dcgan_init(module):
    """pytorch/examples' weights_init, as advlab's nn.InitDCGAN: weights N(0, 0.02), biases untouched."""
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)


def networks(arch):
    if arch == "dcgan28":
        g, d, _, _ = dcgan28(256, 128, 64, 64, 128, 100)
        d = with_dropout(d, 0.3)
        g.apply(keras_init)
        d.apply(keras_init)
    elif arch == "mlp-labml":
        g, d, _, _ = mlp([256, 512, 1024], [1024, 512, 256], 784, 100, 0.2)
        g.apply(dcgan_init)
        d.apply(dcgan_init)
    else:
        raise SystemExit(f"--arch {arch!r}: want dcgan28 or mlp-labml")
    return g, d


def judge(advlab, path, dataset):
    """Runs `advlab judge` on one sample file and returns its verdict."""
    out = subprocess.run([advlab, "judge", "-dataset", dataset, "-json", "-", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"advlab judge {path} failed (exit {out.returncode}):\n{out.stderr.strip()}")
    return json.loads(out.stdout)[0]  # with -json -, standard output holds the JSON alone


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, choices=["dcgan28", "mlp-labml"])
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--beta1", type=float, required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, required=True, help="seconds of training before stopping")
    p.add_argument("--eval-every", type=int, required=True)
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--max-steps", type=int, default=1_000_000)
    p.add_argument("--out", required=True)
    p.add_argument("--advlab", default=os.path.join(REPO, "bin", "advlab"))
    p.add_argument("--data", default=os.path.join(os.environ.get("ADVLAB_DATA") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "advlab", "data"), "mnist"))
    a = p.parse_args()
    if a.time_limit <= 0 or a.eval_every <= 0 or a.batch <= 0:
        raise SystemExit("--time-limit, --eval-every and --batch must be positive")
    os.makedirs(a.out, exist_ok=True)

    torch.manual_seed(a.seed)
    trainx = load_mnist(a.data)[0]  # [60000, 784] in [0, 1]
    real_all = torch.from_numpy(trainx.reshape(-1, 1, 28, 28) * 2 - 1)  # [60000, 1, 28, 28] in [-1, 1]
    g, d = networks(a.arch)
    g.train()
    d.train()
    opt_d = torch.optim.Adam(d.parameters(), lr=a.lr, betas=(a.beta1, 0.999), eps=1e-8)
    opt_g = torch.optim.Adam(g.parameters(), lr=a.lr, betas=(a.beta1, 0.999), eps=1e-8)
    ones, zeros = torch.ones(a.batch), torch.zeros(a.batch)
    fixed = torch.randn(a.eval_samples, 100, generator=torch.Generator().manual_seed(SAMPLE_SEED))
    per_epoch = real_all.shape[0] // a.batch

    evaluations, reached, timed_out = [], None, False
    train_seconds, step, order = 0.0, 0, None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: {a.arch} until the bar or "
          f"{a.time_limit:g} s of training", file=sys.stderr)
    while step < a.max_steps:
        if step % per_epoch == 0:
            order = torch.randperm(real_all.shape[0])
        start = time.perf_counter()
        i = step % per_epoch
        real = real_all[order[i * a.batch:(i + 1) * a.batch]]
        z = torch.randn(a.batch, 100)
        d.zero_grad()
        fake = g(z)
        err_d = F.binary_cross_entropy_with_logits(d(real).view(-1), ones) + \
            F.binary_cross_entropy_with_logits(d(fake.detach()).view(-1), zeros)
        err_d.backward()
        opt_d.step()
        g.zero_grad()
        err_g = F.binary_cross_entropy_with_logits(d(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()
        loss = err_d.item() + err_g.item()
        train_seconds += time.perf_counter() - start
        step += 1
        if not np.isfinite(loss):
            raise SystemExit(f"step {step}: the loss is {loss}; training diverged")
        if train_seconds >= a.time_limit:
            timed_out = True
        if step % a.eval_every == 0:
            with torch.no_grad():
                samples = torch.cat([g(fixed[j:j + SAMPLE_CHUNK]) for j in range(0, a.eval_samples, SAMPLE_CHUNK)])
            path = os.path.join(a.out, f"samples_step_{step:06d}.npy")
            np.save(path, samples.numpy().astype(np.float32))
            v = judge(a.advlab, path, "mnist")
            q = v["quality"]["generated"]
            e = {"step": step, "train_seconds": train_seconds, "fid": q["fid"], "samples": q["images"],
                 "classes_covered": q["coverage"]["classes_covered"], "inception_score": q["inception_score"],
                 "kid": q["kid"]["kid"], "kid_se": q["kid"]["se"], "precision": q["precision_recall"]["precision"],
                 "recall": q["precision_recall"]["recall"], "recognisable": v["recognisable"]}
            evaluations.append(e)
            print(f"step {step} ({train_seconds:.0f} s of training): IS {e['inception_score']:.2f}, KID {e['kid']:.4f}, "
                  f"precision {e['precision']:.2f}, recall {e['recall']:.2f}, FID {e['fid']:.2f}, "
                  f"{e['classes_covered']}/10 classes: {'recognisable' if e['recognisable'] else 'not yet recognisable'}",
                  file=sys.stderr)
            if e["recognisable"]:
                reached = e
                break
        if timed_out:
            break
    metrics = {"arch": a.arch, "dataset": "mnist", "steps": step, "batch_size": a.batch, "seed": a.seed,
               "seconds": train_seconds, "images_per_second": step * a.batch / train_seconds,
               "backend": f"pytorch {torch.__version__} ({torch.get_num_threads()} threads)",
               "evaluations": evaluations, "target_reached": reached,
               "time_limit_seconds": a.time_limit, "time_limit_reached": timed_out and reached is None}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
