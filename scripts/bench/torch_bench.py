#!/usr/bin/env python3
"""PyTorch side of `make bench`: the same architectures and training steps advlab times.

Run with Debian's PyTorch (python3-torch, with libopenblas0-pthread for a fast BLAS):

    OMP_NUM_THREADS=$(nproc) OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench/torch_bench.py

or, on a GPU machine, with a CUDA build of PyTorch (2.0 or newer) and --device cuda. There PyTorch
runs in plain float32 unless --tf32 is given (cuDNN convolutions and products in TF32); compare it
with advlab on XLA CUDA with tf32=false in GOMLX_BACKEND (go-xla's default is TF32), or pass --tf32
to compare TF32 with TF32 (scripts/bench/xla_cuda.sh does both).

Alone it times every workload (first step, then the median of --steps steps) and prints a table.
With --serve it is a worker of `advlab bench` (lib/bench), speaking peer_protocol.py's requests, so
that the Go program can alternate blocks of PyTorch steps with blocks of advlab steps.

With --compile (PyTorch 2) the generator, the discriminator and the VAEs are wrapped in
torch.compile (TorchInductor's C++/OpenMP code on the CPU), as a PyTorch user would speed up the
same training loop; the first step then includes the compilation.

The networks are scripts/fixtures/gan_steps.py's (the PyTorch twins of lib/models that the parity
fixtures come from) at full width:

  * dcgan28: the TensorFlow DCGAN tutorial with Keras batch norm and 'same' padding, plus the
    tutorial's Dropout(0.3) after each discriminator LeakyReLU (the fixtures leave it out because
    dropout masks cannot be matched; advlab's models.DCGAN28Tutorial has it);
  * dcgan64: pytorch/examples' dcgan, nz 100, ngf = ndf = 64, one channel;
  * vae: pytorch/examples/vae (784-400-20);
  * vaal: one round of VAAL (sinhasam/vaal's solver and sampler) with lib/active's MLP β-VAE
    (784-400-32, Gaussian decoder: squared error summed over the pixels) and latent discriminator
    (32-512-512-1): fresh networks, VAAL_ITERATIONS iterations of 2 VAE and 1 discriminator Adam
    updates on 64 labelled + 64 unlabelled images, then D(mu) over the whole pool and the
    VAAL_BUDGET lowest unlabelled images selected;
  * ssl: openai/improved-gan's semi-supervised MNIST model and step (train_mnist_feature_matching.py,
    as lib/models.ImprovedGANMNIST and lib/ssl): D GaussianNoise + weight-normalised dense
    784-1000-500-250-250-250-10 (hidden scales fixed), G 100-500-500-784 with batch norm without
    gain and a weight-normalised sigmoid output; D's update on L_lab + L_unl over 100 labelled, 100
    unlabelled and 100 detached generated images, then G's feature-matching update through the
    updated D against a second unlabelled batch, D applied once to each update's concatenated
    batches as lib/ssl does by default; Adam (lr 0.003, betas 0.5, 0.999, eps 1e-4 as
    lib/ssl's default) and the moving average of D's weights (rate 1e-3) after each D update.

The GAN step is pytorch/examples' dcgan: D on the real batch and on the detached fake batch, D's
Adam step, then G's loss through the updated D and G's Adam step. Data are random tensors of the
real shapes; fresh latent vectors are drawn every step, as advlab's trainer does.
"""

import glob
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
from gan_steps import dcgan28, dcgan64, with_dropout  # noqa: E402
from peer_protocol import arguments, run  # noqa: E402

# The VAAL round of lib/bench (bench.go: VAALIterations, VAALPool, VAALLabelled, VAALBudget).
VAAL_ITERATIONS, VAAL_POOL, VAAL_LABELLED, VAAL_BUDGET = 25, 2000, 200, 100


class VAE(nn.Module):
    """pytorch/examples/vae: fc1 784->400, fc21/fc22 400->20, fc3 20->400, fc4 400->784."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def gan_stepper(g, d, batch, nz, shape):
    """Returns a function running one pytorch/examples dcgan step on random data of shape (C, H, W)."""
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    g.train()
    d.train()
    real = torch.rand(batch, *shape) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def step():
        z = torch.randn(batch, nz)
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z))).
        d.zero_grad()
        real_logits = d(real).view(-1)
        fake = g(z)
        fake_logits = d(fake.detach()).view(-1)
        err_d = F.binary_cross_entropy_with_logits(real_logits, ones) + \
            F.binary_cross_entropy_with_logits(fake_logits, zeros)
        err_d.backward()
        opt_d.step()
        # (2) Update G network: maximize log(D(G(z))).
        g.zero_grad()
        after_logits = d(fake).view(-1)
        err_g = F.binary_cross_entropy_with_logits(after_logits, ones)
        err_g.backward()
        opt_g.step()
        return err_d.item() + err_g.item()

    step.weights = {"generator": matrix_weights(g), "discriminator": matrix_weights(d)}
    return step


def matrix_weights(module):
    """Counts the kernels' weights (tensors of two or more dimensions: no biases or batch norm)."""
    return sum(p.numel() for p in module.parameters() if p.dim() >= 2)


class WeightNormLinear(nn.Module):
    """Salimans & Kingma's weight-normalised dense layer: y = x·(g·V/|V|)ᵀ + b, V ~ N(0, 0.1²)."""

    def __init__(self, n_in, n_out, train_scale):
        super().__init__()
        self.v = nn.Parameter(torch.randn(n_out, n_in) * 0.1)
        self.g = nn.Parameter(torch.ones(n_out), requires_grad=train_scale)
        self.b = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return F.linear(x, self.v * (self.g / self.v.norm(dim=1)).unsqueeze(1), self.b)


class SSLDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [784, 1000, 500, 250, 250, 250]
        self.hidden = nn.ModuleList(WeightNormLinear(a, b, False) for a, b in zip(widths, widths[1:]))
        self.out = WeightNormLinear(250, 10, True)

    def forward(self, x):
        """Returns the 10 logits and the last hidden layer (the features feature matching compares)."""
        x = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.hidden):
            x = F.relu(layer(x + torch.randn_like(x) * (0.3 if i == 0 else 0.5)))
        return self.out(x + torch.randn_like(x) * 0.5), x


class SSLGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(100, 500, bias=False), nn.Linear(500, 500, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm1d(500, eps=1e-6, affine=False), nn.BatchNorm1d(500, eps=1e-6, affine=False)
        self.offset1, self.offset2 = nn.Parameter(torch.zeros(500)), nn.Parameter(torch.zeros(500))
        self.out = WeightNormLinear(500, 784, True)

    def forward(self, z):
        x = F.softplus(self.bn1(self.fc1(z)) + self.offset1)
        x = F.softplus(self.bn2(self.fc2(x)) + self.offset2)
        return torch.sigmoid(self.out(x))


def ssl_stepper(batch):
    d, g = SSLDiscriminator(), SSLGenerator()
    average = [p.detach().clone() for p in d.parameters()]
    trained = [p for p in d.parameters() if p.requires_grad]
    opt_d = torch.optim.Adam(trained, lr=3e-3, betas=(0.5, 0.999), eps=1e-4)
    opt_g = torch.optim.Adam(g.parameters(), lr=3e-3, betas=(0.5, 0.999), eps=1e-4)
    x_lab, x_unl, x_unl2 = (torch.rand(batch, 784) for _ in range(3))
    y_lab = torch.arange(batch) % 10

    def step():
        z1, z2 = torch.rand(batch, 100), torch.rand(batch, 100)
        # (1) D: L_lab + L_unl on labelled, unlabelled and detached generated images, in one pass over
        # their concatenation as lib/ssl does by default (the reference makes one pass per batch; the
        # step is the same for this per-image D, and one pass is faster in PyTorch too).
        opt_d.zero_grad()
        logits, _ = d(torch.cat([x_lab, x_unl, g(z1).detach().reshape(batch, -1)]))
        lab, unl, fake = logits.split(batch)
        lse_unl, lse_fake = torch.logsumexp(unl, 1), torch.logsumexp(fake, 1)
        loss_lab = F.cross_entropy(lab, y_lab)
        loss_unl = -0.5 * lse_unl.mean() + 0.5 * F.softplus(lse_unl).mean() + 0.5 * F.softplus(lse_fake).mean()
        (loss_lab + loss_unl).backward()
        opt_d.step()
        with torch.no_grad():
            for a, p in zip(average, d.parameters()):
                a.lerp_(p, 1e-3)
        # (2) G: feature matching against the updated D (its weights constants here) on a second
        # unlabelled batch, both in one pass.
        opt_g.zero_grad()
        for p in trained:
            p.requires_grad_(False)
        _, features = d(torch.cat([g(z2).reshape(batch, -1), x_unl2]))
        fake_features, real_features = features.split(batch)
        loss_g = ((fake_features.mean(0) - real_features.detach().mean(0)) ** 2).mean()
        loss_g.backward()
        opt_g.step()
        for p in trained:
            p.requires_grad_(True)
        return loss_lab.item() + loss_unl.item() + loss_g.item()

    step.weights = {"generator": matrix_weights(g), "discriminator": matrix_weights(d)}
    return step


def vae_stepper(batch):
    """Returns a function running one pytorch/examples/vae Adam step on random images in [0, 1]."""
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    x = torch.rand(batch, 1, 28, 28)

    def step():
        opt.zero_grad()
        logits, mu, logvar = model(x)
        bce = F.binary_cross_entropy_with_logits(logits, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        loss.backward()
        opt.step()
        return loss.item()

    step.weights = {"model": matrix_weights(model)}
    return step


class VAALVAE(nn.Module):
    """lib/active's VAAL VAE (models.MLPVAE with latent 32): 784-400-(32, 32), 32-400-784, no output activation."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 32), nn.Linear(400, 32)
        self.fc3, self.fc4 = nn.Linear(32, 400), nn.Linear(400, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), self.fc22(h)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def vaal_stepper(batch):
    """Returns a function running one VAAL round on a pool of random images in [-1, 1]."""
    pool = torch.rand(VAAL_POOL, 1, 28, 28) * 2 - 1
    labelled, unlabelled = pool[:VAAL_LABELLED], pool[VAAL_LABELLED:]
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def trd(vae, x):
        recon, mu, logvar = vae(x)
        per_image = (recon - x.view(-1, 784)).pow(2).sum(1) - 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
        return per_image.mean(), mu

    def step():
        vae = VAALVAE()
        adversary = nn.Sequential(nn.Linear(32, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 1))
        opt_vae = torch.optim.Adam(vae.parameters(), lr=5e-4)
        opt_adv = torch.optim.Adam(adversary.parameters(), lr=5e-4)

        def batches():
            return (labelled[torch.randint(0, VAAL_LABELLED, (batch,))],
                    unlabelled[torch.randint(0, len(unlabelled), (batch,))])

        for _ in range(VAAL_ITERATIONS):
            for _ in range(2):  # VAE steps: L_trd + lambda2 * L_adv, fooling D into "labelled"
                x_l, x_u = batches()
                trd_l, mu_l = trd(vae, x_l)
                trd_u, mu_u = trd(vae, x_u)
                adv = F.binary_cross_entropy_with_logits(adversary(mu_l).view(-1), ones) + \
                    F.binary_cross_entropy_with_logits(adversary(mu_u).view(-1), ones)
                opt_vae.zero_grad()
                (trd_l + trd_u + adv).backward()
                opt_vae.step()
            x_l, x_u = batches()  # discriminator step, the VAE held fixed
            with torch.no_grad():
                mu_l, _ = vae.encode(x_l)
                mu_u, _ = vae.encode(x_u)
            loss = F.binary_cross_entropy_with_logits(adversary(mu_l).view(-1), ones) + \
                F.binary_cross_entropy_with_logits(adversary(mu_u).view(-1), zeros)
            opt_adv.zero_grad()
            loss.backward()
            opt_adv.step()
        with torch.no_grad():  # sampling: score the pool with D(mu), take the lowest unlabelled
            scores = torch.sigmoid(adversary(vae.encode(pool)[0]).view(-1))
            picked = torch.topk(-scores[VAAL_LABELLED:], VAAL_BUDGET).indices
        return float(picked.sum())

    return step


def use_device(device, tf32):
    """Makes `device` the default of every tensor and module created from here on (CUDA: torch >= 2.0)."""
    if device == "cpu":
        return
    if not device.startswith("cuda") or not torch.cuda.is_available():
        raise SystemExit(f"torch_bench.py: device {device!r} is not available (torch {torch.__version__}, "
                         f"CUDA available: {torch.cuda.is_available()}); expected cpu or cuda[:N]")
    torch.set_default_device(device)
    torch.backends.cudnn.benchmark = True  # as pytorch/examples' dcgan does
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32


COMPILE = False  # --compile: wrap the networks in torch.compile


def compiled(module):
    return torch.compile(module) if COMPILE else module


def dcgan28_stepper(batch):
    torch.manual_seed(1)
    g, d, _, _ = dcgan28(256, 128, 64, 64, 128, 100)
    return gan_stepper(compiled(g), compiled(with_dropout(d, 0.3)), batch, 100, (1, 28, 28))


def dcgan64_stepper(batch, ngf=64):
    """pytorch/examples' dcgan at base width ngf = ndf (the scaling study's "ngf")."""
    torch.manual_seed(1)
    g, d, _, _ = dcgan64(100, ngf, ngf, 1)
    return gan_stepper(compiled(g), compiled(d), batch, 100, (1, 64, 64))


def seeded(make):
    def build(batch):
        torch.manual_seed(1)
        return make(batch)
    return build


STEPPERS = {"dcgan28": dcgan28_stepper, "dcgan64": dcgan64_stepper, "vae": seeded(vae_stepper),
            "ssl": seeded(ssl_stepper), "vaal": seeded(vaal_stepper)}


def time_matmul(size, n):
    a, b = torch.rand(size, size) - 0.5, torch.rand(size, size) - 0.5
    torch.mm(a, b)  # warm-up (thread pool, allocations)
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        torch.mm(a, b).sum().item()
        seconds.append(time.perf_counter() - start)
    return seconds


def info():
    # Debian's BLAS alternative (OpenBLAS with libopenblas0-pthread, else the slow reference BLAS).
    blas = next(iter(sorted(glob.glob("/usr/lib/*-linux-gnu/libblas.so.3"))), "")
    device = torch.empty(0).device
    if device.type == "cuda":
        return {"side": "torch", "torch": torch.__version__, "device": torch.cuda.get_device_name(device),
                "cuda": str(torch.version.cuda), "cudnn": str(torch.backends.cudnn.version()),
                "tf32": str(torch.backends.cudnn.allow_tf32), "python": sys.version.split()[0]}
    if not torch.__file__.startswith("/usr/"):
        blas = "bundled with the wheel"  # a pip PyTorch carries its own BLAS (MKL or OpenBLAS)
    elif blas:
        blas = os.path.realpath(blas)
    return {"side": "torch", "torch": torch.__version__, "compile": str(COMPILE),
            "threads": str(torch.get_num_threads()), "blas": blas or "unknown",
            "python": sys.version.split()[0],
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", ""),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "")}


def main():
    parser = arguments(__doc__, STEPPERS)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda[:N] with a CUDA build of torch >= 2.0")
    parser.add_argument("--tf32", action="store_true", help="CUDA: let convolutions and products use TF32")
    parser.add_argument("--compile", action="store_true", help="wrap the networks in torch.compile (PyTorch 2)")
    args = parser.parse_args()
    use_device(args.device, args.tf32)
    global COMPILE
    COMPILE = args.compile
    if COMPILE and not hasattr(torch, "compile"):
        raise SystemExit(f"torch_bench.py: --compile needs PyTorch 2 (this is torch {torch.__version__})")
    run(args, STEPPERS, info, time_matmul)


if __name__ == "__main__":
    main()
