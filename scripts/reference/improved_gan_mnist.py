#!/usr/bin/env python3
"""A PyTorch port of openai/improved-gan's mnist_svhn_cifar10/train_mnist_feature_matching.py.

It is an independent check on advlab's semi-supervised GAN (lib/ssl): the reference's networks,
initialisation, noise, losses, optimiser and schedule, written from the reference's Theano code and
not from advlab's. It writes the test error after every epoch as JSON in advlab's curve format
("advlab-ssl-curve/1", the same file `advlab train ssl` writes as DIR/curve.json), so that
`advlab curves` can plot the two side by side.

What it reproduces:
- data: the 60,000 MNIST training images in [0, 1], `count` labelled per class chosen by a
  permutation from seed_data, the labelled set tiled to the unlabelled set's length each epoch;
  two independently shuffled copies of the unlabelled set (one for D, one for G); 600 steps an epoch
- classifier: Gaussian noise 0.3 on the input, five dense layers 1000-500-250-250-250 with ReLU,
  each followed by Gaussian noise 0.5, then dense 10; every dense layer is the reference's
  nn.DenseLayer, W = θ·s/‖θ‖ per output unit with θ ~ N(0, 0.1), the scale s fixed after the
  data-dependent initialisation (trainable in the last layer) and a bias
- generator: z ~ U(0, 1)^100, dense 500 (no bias) - batch norm without gain - softplus, twice, then
  dense 784 with nn.l2normalize (trainable scale, initially 1) and a sigmoid; Glorot-uniform weights
- data-dependent initialisation on the first 500 (permuted) training images, layer by layer, noise on
- losses: L_lab = cross-entropy of the K logits, L_unl = −½E[LSE(l(x))] + ½E[softplus(LSE(l(x)))] +
  ½E[softplus(LSE(l(G(z))))], G's loss the mean squared difference of the batches' mean features
  (the last hidden layer's output)
- nn.adam_updates: β1 0.5, β2 0.999, ε 1e-8 inside the square root; learning rate 0.003, constant
- the classifier's weight average, rate 1e-4 from zeros, taken before each update, whose test error
  the reference prints; this port also reports the current weights' and advlab's default average
  (rate 1e-3, from the first update's weights) so that every number has its counterpart

Run (the benchmark's PyTorch venv has the pinned torch; `make ssl-reference` runs the curves):

    OMP_NUM_THREADS=2 build/peers/torch/bin/python scripts/reference/improved_gan_mnist.py \\
        --seed 1 --epochs 10 --out docs/results/ssl/reference-seed1.json
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

CURVE_FORMAT = "advlab-ssl-curve/1"


def read_idx(path):
    """Reads an MNIST idx file (optionally gzipped) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: {data.size} values, the header says {dims}")
    return data.reshape(dims)


def load_mnist(directory):
    def find(stem):
        for name in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(directory, name)):
                return os.path.join(directory, name)
        raise SystemExit(f"--data {directory}: no {stem} (fetch MNIST with `bin/advlab data fetch mnist`)")

    trainx = read_idx(find("train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    trainy = read_idx(find("train-labels-idx1-ubyte")).astype(np.int64)
    testx = read_idx(find("t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    testy = read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)
    return trainx, trainy, testx, testy


class Dense:
    """nn.DenseLayer: activation = x·(θ·s/‖θ‖₀) + b, with s set by the data-dependent init."""

    def __init__(self, fan_in, units, gen, train_scale):
        self.theta = (torch.randn(fan_in, units, generator=gen) * 0.1).requires_grad_()
        self.scale = torch.ones(units, requires_grad=train_scale)
        self.b = torch.zeros(units, requires_grad=True)
        self.train_scale = train_scale

    def params(self):
        return [self.theta, self.b] + ([self.scale] if self.train_scale else [])

    def weight(self, theta=None, scale=None):
        theta = self.theta if theta is None else theta
        scale = self.scale if scale is None else scale
        return theta * (scale / torch.sqrt(torch.sum(theta * theta, dim=0, keepdim=True)))

    def forward(self, x, init=False, values=None):
        theta, b, scale = (self.theta, self.b, self.scale) if values is None else values
        a = x @ self.weight(theta, scale)
        if init:
            with torch.no_grad():
                m = a.mean(dim=0)
                a = a - m
                stdv = torch.sqrt((a * a).mean(dim=0))
                a = a / stdv
                self.scale.copy_(self.scale / stdv)
                self.b.copy_(-m / stdv)
            return a
        return a + b


class Classifier:
    WIDTHS = (1000, 500, 250, 250, 250)

    def __init__(self, gen):
        fan_in = 784
        self.layers = []
        for w in self.WIDTHS:
            self.layers.append(Dense(fan_in, w, gen, train_scale=False))
            fan_in = w
        self.layers.append(Dense(fan_in, 10, gen, train_scale=True))

    def params(self):
        return [p for layer in self.layers for p in layer.params()]

    def state(self):
        """Every tensor the forward pass reads, trainable or not, per layer: (θ, b, s)."""
        return [(l.theta, l.b, l.scale) for l in self.layers]

    def forward(self, x, noise_gen=None, init=False, values=None):
        """Logits and the last hidden layer's output; noise_gen None: deterministic (no noise)."""

        def noise(h, sigma):
            if noise_gen is None:
                return h
            return h + sigma * torch.randn(h.shape, generator=noise_gen)

        h = noise(x, 0.3)
        features = None
        for i, layer in enumerate(self.layers):
            if i > 0:
                h = noise(h, 0.5)
            h = layer.forward(h, init=init, values=None if values is None else values[i])
            if i < len(self.layers) - 1:
                h = F.relu(h)
                features = h
        return h, features


class Generator:
    def __init__(self, gen):
        def glorot(fan_in, fan_out):
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            return ((torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * limit).requires_grad_()

        self.w1, self.b1 = glorot(100, 500), torch.zeros(500, requires_grad=True)
        self.w2, self.b2 = glorot(500, 500), torch.zeros(500, requires_grad=True)
        self.w3, self.b3 = glorot(500, 784), torch.zeros(784, requires_grad=True)
        self.s3 = torch.ones(784, requires_grad=True)

    def params(self):
        return [self.w1, self.b1, self.w2, self.b2, self.w3, self.s3, self.b3]

    @staticmethod
    def batch_norm(h, b):
        """nn.batch_norm(..., g=None) in training mode: batch statistics, ε 1e-6 inside the root."""
        centred = h - h.mean(dim=0, keepdim=True)
        return centred / torch.sqrt(1e-6 + (centred * centred).mean(dim=0, keepdim=True)) + b

    def forward(self, z):
        h = F.softplus(self.batch_norm(z @ self.w1, self.b1))
        h = F.softplus(self.batch_norm(h @ self.w2, self.b2))
        w3 = self.w3 * (self.s3 / torch.sqrt(1e-6 + torch.sum(self.w3 * self.w3, dim=0, keepdim=True)))
        return torch.sigmoid(h @ w3 + self.b3)


class ReferenceAdam:
    """nn.adam_updates: ε inside the square root."""

    def __init__(self, params, lr, mom1=0.5, mom2=0.999, eps=1e-8):
        self.params, self.lr, self.mom1, self.mom2, self.eps = params, lr, mom1, mom2, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(self.mom1).add_(g, alpha=1 - self.mom1)
            v.mul_(self.mom2).addcmul_(g, g, value=1 - self.mom2)
            m_hat = m / (1 - self.mom1 ** self.t)
            v_hat = v / (1 - self.mom2 ** self.t)
            p.sub_(self.lr * m_hat / torch.sqrt(v_hat + self.eps))


def log_sum_exp(logits):
    return torch.logsumexp(logits, dim=1)


def test_error(classifier, testx, testy, values, batch):
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(testx), batch):
            logits, _ = classifier.forward(testx[i:i + batch], values=values)
            wrong += int((logits.argmax(dim=1) != testy[i:i + batch]).sum())
    return wrong / len(testx)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1, help="the reference's --seed (noise, weights, batch order)")
    ap.add_argument("--seed-data", type=int, default=None, help="the reference's --seed_data (which images are labelled; default --seed)")
    ap.add_argument("--count", type=int, default=10, help="labelled images per class (the reference's 10: 100 labels)")
    ap.add_argument("--epochs", type=int, default=300, help="epochs of 600 steps (the reference runs 300)")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--learning-rate", type=float, default=0.003)
    ap.add_argument("--unlabeled-weight", type=float, default=1.0)
    ap.add_argument("--data", default=os.path.join(os.path.expanduser("~"), ".cache", "advlab", "data", "mnist"),
                    help="directory of the four MNIST idx files (advlab's data cache)")
    ap.add_argument("--out", required=True, help="curve JSON to write (rewritten after every epoch)")
    ap.add_argument("--smoke", action="store_true", help="2,000 training and 500 test images, 1 epoch: checks the script")
    args = ap.parse_args()
    if args.count < 1 or args.epochs < 1 or args.batch_size < 2 or args.learning_rate <= 0:
        raise SystemExit("--count, --epochs must be >= 1, --batch-size >= 2, --learning-rate > 0")
    seed_data = args.seed if args.seed_data is None else args.seed_data

    rng = np.random.RandomState(args.seed)
    noise_gen = torch.Generator().manual_seed(int(rng.randint(2 ** 15)))
    weight_gen = torch.Generator().manual_seed(int(rng.randint(2 ** 15)))
    data_rng = np.random.RandomState(seed_data)

    trainx, trainy, testx, testy = load_mnist(args.data)
    if args.smoke:
        trainx, trainy, testx, testy = trainx[:2000], trainy[:2000], testx[:500], testy[:500]
        args.epochs = 1
    trainx_unl, trainx_unl2 = trainx.copy(), trainx.copy()
    batch = args.batch_size
    batches = trainx.shape[0] // batch

    inds = data_rng.permutation(trainx.shape[0])
    trainx, trainy = trainx[inds], trainy[inds]
    txs = np.concatenate([trainx[trainy == j][:args.count] for j in range(10)])
    tys = np.concatenate([trainy[trainy == j][:args.count] for j in range(10)])

    gen, disc = Generator(weight_gen), Classifier(weight_gen)
    with torch.no_grad():  # data-dependent initialisation, with the noise on as in the reference
        disc.forward(torch.from_numpy(trainx[:500]), noise_gen=noise_gen, init=True)

    disc_params, gen_params = disc.params(), gen.params()
    disc_opt = ReferenceAdam(disc_params, args.learning_rate)
    gen_opt = ReferenceAdam(gen_params, args.learning_rate)
    trainable = {id(p) for p in disc_params}
    # The reference's average (trainable parameters, from zeros, before each update) and advlab's.
    ref_avg = [torch.zeros_like(p) if id(p) in trainable else None for layer in disc.state() for p in layer]
    adv_avg = None
    tensors = [p for layer in disc.state() for p in layer]

    def averaged(avg):
        flat = [a if a is not None else p for a, p in zip(avg, tensors)]
        return [tuple(flat[3 * i:3 * i + 3]) for i in range(len(disc.layers))]

    test_x, test_y = torch.from_numpy(testx), torch.from_numpy(testy)
    curve = {
        "format": CURVE_FORMAT, "implementation": "reference-port",
        "backend": f"torch {torch.__version__} cpu, {torch.get_num_threads()} threads",
        "arch": "mlp", "dataset": "mnist", "labels": 10 * args.count, "seed": args.seed, "batch_size": batch,
        "learning_rate": args.learning_rate, "adam_epsilon": 1e-8, "adam_epsilon_inside_root": True,
        "average_rate": 1e-3, "reference_average_rate": 1e-4,
        "command": " ".join(["python", "scripts/reference/improved_gan_mnist.py"] +
                            [a.replace(os.path.expanduser("~") + os.sep, "~" + os.sep) for a in sys.argv[1:]]),
        "epochs": [],
    }
    step = 0
    for epoch in range(1, args.epochs + 1):
        begin = time.time()
        reps = int(np.ceil(trainx_unl.shape[0] / float(txs.shape[0])))
        order = [rng.permutation(txs.shape[0]) for _ in range(reps)]
        lab_x = np.concatenate([txs[o] for o in order])
        lab_y = np.concatenate([tys[o] for o in order])
        trainx_unl = trainx_unl[rng.permutation(trainx_unl.shape[0])]
        trainx_unl2 = trainx_unl2[rng.permutation(trainx_unl2.shape[0])]
        sums = np.zeros(3)
        for t in range(batches):
            sl = slice(t * batch, (t + 1) * batch)
            x_lab, y_lab = torch.from_numpy(lab_x[sl]), torch.from_numpy(lab_y[sl])
            x_unl, x_unl2 = torch.from_numpy(trainx_unl[sl]), torch.from_numpy(trainx_unl2[sl])

            # D: L_lab + w·L_unl, the fake batch detached.
            with torch.no_grad():
                fake = gen.forward(torch.rand(batch, 100, generator=noise_gen))
            out_lab, _ = disc.forward(x_lab, noise_gen)
            out_unl, _ = disc.forward(x_unl, noise_gen)
            out_fake, _ = disc.forward(fake, noise_gen)
            l_unl, l_fake = log_sum_exp(out_unl), log_sum_exp(out_fake)
            loss_lab = -out_lab.gather(1, y_lab[:, None]).mean() + log_sum_exp(out_lab).mean()
            loss_unl = -0.5 * l_unl.mean() + 0.5 * F.softplus(l_unl).mean() + 0.5 * F.softplus(l_fake).mean()
            train_err = (out_lab.argmax(dim=1) != y_lab).float().mean()
            grads = torch.autograd.grad(loss_lab + args.unlabeled_weight * loss_unl, disc_params)
            with torch.no_grad():
                for a, p in zip(ref_avg, tensors):
                    if a is not None:
                        a.add_(1e-4 * (p - a))
            disc_opt.step(grads)
            with torch.no_grad():
                if adv_avg is None:
                    adv_avg = [p.detach().clone() for p in tensors]
                else:
                    for a, p in zip(adv_avg, tensors):
                        a.add_(1e-3 * (p - a))
            sums += [loss_lab.item(), loss_unl.item(), train_err.item()]

            # G: feature matching against the updated D.
            fake2 = gen.forward(torch.rand(batch, 100, generator=noise_gen))
            _, mom_gen = disc.forward(fake2, noise_gen)
            _, mom_real = disc.forward(x_unl2, noise_gen)
            loss_gen = torch.mean((mom_gen.mean(dim=0) - mom_real.detach().mean(dim=0)) ** 2)
            gen_opt.step(torch.autograd.grad(loss_gen, gen_params))
            step += 1
        seconds = time.time() - begin
        point = {
            "epoch": epoch, "step": step, "loss_lab": sums[0] / batches, "loss_unl": sums[1] / batches,
            "train_err": sums[2] / batches,
            "test_err": test_error(disc, test_x, test_y, None, batch),
            "test_err_average": test_error(disc, test_x, test_y, averaged(adv_avg), batch),
            "test_err_reference_average": test_error(disc, test_x, test_y, averaged(ref_avg), batch),
            "seconds": seconds,
        }
        curve["epochs"].append(point)
        print(f"epoch {epoch} ({seconds:.0f} s): loss_lab {point['loss_lab']:.4f} loss_unl {point['loss_unl']:.4f} "
              f"train err {point['train_err']:.4f}; test err: reference average {point['test_err_reference_average']:.4f}, "
              f"average {point['test_err_average']:.4f}, current {point['test_err']:.4f}", flush=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w") as f:
            json.dump(curve, f, indent=2)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
