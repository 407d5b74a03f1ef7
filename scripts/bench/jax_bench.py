#!/usr/bin/env python3
"""JAX + Flax + Optax side of `make bench`: the same networks and steps, one jax.jit per step.

JAX compiles through XLA, as advlab's XLA backend does, so this column separates what XLA gives
from what advlab's graphs give. Workloads (lib/bench/bench.go's, same batch and optimiser):

  * dcgan28: the TensorFlow DCGAN tutorial (Dense 7x7x256 without bias, BatchNorm with Keras'
    momentum 0.99 and eps 1e-3, LeakyReLU 0.3, transposed convs 5x5 'SAME' to 128, 64, 1 with
    tanh; D: conv 5x5 stride 2 to 64 and 128 with LeakyReLU 0.3 and Dropout(0.3), Dense(1));
  * dcgan64: pytorch/examples' dcgan (nz 100, ngf = ndf = 64, one channel, 4x4 kernels);
  * vae: pytorch/examples/vae (784-400-20), one Adam step on the summed BCE + KL.

The GAN step is pytorch/examples' loop: D's Adam step on the real batch and the detached fake,
then G's loss through the updated D and G's Adam step; Adam(2e-4, b1 0.5). The whole step
(both updates, fresh latent vectors and dropout masks from a split key) is one jitted function;
the first step includes its compilation.

    OMP_NUM_THREADS=$(nproc) build/peers/jax/bin/python scripts/bench/jax_bench.py [--serve]

Threads: XLA's CPU client uses the cores it is given (taskset); it is run on the same cores as
the other columns.
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import flax
import flax.linen as nn
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_protocol import arguments, run  # noqa: E402


class Generator28(nn.Module):
    @nn.compact
    def __call__(self, z, train=True):
        bn = dict(use_running_average=not train, momentum=0.99, epsilon=1e-3)
        x = nn.Dense(7 * 7 * 256, use_bias=False)(z)
        x = nn.leaky_relu(nn.BatchNorm(**bn)(x), 0.3).reshape(-1, 7, 7, 256)
        x = nn.ConvTranspose(128, (5, 5), (1, 1), padding="SAME", use_bias=False)(x)
        x = nn.leaky_relu(nn.BatchNorm(**bn)(x), 0.3)
        x = nn.ConvTranspose(64, (5, 5), (2, 2), padding="SAME", use_bias=False)(x)
        x = nn.leaky_relu(nn.BatchNorm(**bn)(x), 0.3)
        return jnp.tanh(nn.ConvTranspose(1, (5, 5), (2, 2), padding="SAME", use_bias=False)(x))


class Discriminator28(nn.Module):
    @nn.compact
    def __call__(self, x, train=True):
        x = nn.leaky_relu(nn.Conv(64, (5, 5), (2, 2), padding="SAME")(x), 0.3)
        x = nn.Dropout(0.3, deterministic=not train)(x)
        x = nn.leaky_relu(nn.Conv(128, (5, 5), (2, 2), padding="SAME")(x), 0.3)
        x = nn.Dropout(0.3, deterministic=not train)(x)
        return nn.Dense(1)(x.reshape(x.shape[0], -1)).reshape(-1)


class Generator64(nn.Module):
    ngf: int = 64

    @nn.compact
    def __call__(self, z, train=True):
        bn = dict(use_running_average=not train, momentum=0.9, epsilon=1e-5)
        x = z.reshape(-1, 1, 1, z.shape[-1])
        x = nn.ConvTranspose(self.ngf * 8, (4, 4), (1, 1), padding="VALID", use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(**bn)(x))
        for mult in (4, 2, 1):
            x = nn.ConvTranspose(self.ngf * mult, (4, 4), (2, 2), padding="SAME", use_bias=False)(x)
            x = nn.relu(nn.BatchNorm(**bn)(x))
        return jnp.tanh(nn.ConvTranspose(1, (4, 4), (2, 2), padding="SAME", use_bias=False)(x))


class Discriminator64(nn.Module):
    ndf: int = 64

    @nn.compact
    def __call__(self, x, train=True):
        bn = dict(use_running_average=not train, momentum=0.9, epsilon=1e-5)
        x = nn.leaky_relu(nn.Conv(self.ndf, (4, 4), (2, 2), padding=((1, 1), (1, 1)), use_bias=False)(x), 0.2)
        for mult in (2, 4, 8):
            x = nn.Conv(self.ndf * mult, (4, 4), (2, 2), padding=((1, 1), (1, 1)), use_bias=False)(x)
            x = nn.leaky_relu(nn.BatchNorm(**bn)(x), 0.2)
        return nn.Conv(1, (4, 4), (1, 1), padding="VALID", use_bias=False)(x).reshape(-1)


def matrix_weights(params):
    """Counts the kernels' weights (arrays of two or more dimensions: no biases or batch norm)."""
    return sum(int(x.size) for x in jax.tree_util.tree_leaves(params) if x.ndim >= 2)


def bce_logits(logits, target):
    return optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)).mean()


def gan_stepper(g, d, batch, nz, shape):
    """Returns a function running one jitted D-then-G step on random images of shape (H, W, C)."""
    key = jax.random.PRNGKey(1)
    key, kg, kd, kx = jax.random.split(key, 4)
    z0 = jnp.zeros((batch, nz))
    real = jax.random.uniform(kx, (batch, *shape), minval=-1, maxval=1)
    g_vars = g.init(kg, z0)
    d_vars = d.init({"params": kd, "dropout": kd}, real)
    opt = optax.adam(2e-4, b1=0.5, b2=0.999, eps=1e-8)
    state = {"g": g_vars, "d": d_vars, "og": opt.init(g_vars["params"]), "od": opt.init(d_vars["params"]),
             "key": key}

    def d_apply(params, others, x, rng):
        out, updates = d.apply({"params": params, **others}, x, rngs={"dropout": rng},
                               mutable=[k for k in others])
        return out, updates

    @jax.jit
    def step(state):
        key, kz, k1, k2, k3 = jax.random.split(state["key"], 5)
        z = jax.random.normal(kz, (batch, nz))
        g_params, g_others = state["g"]["params"], {k: v for k, v in state["g"].items() if k != "params"}
        d_params, d_others = state["d"]["params"], {k: v for k, v in state["d"].items() if k != "params"}

        def gen(params):
            return g.apply({"params": params, **g_others}, z, mutable=list(g_others))

        # G runs forward once, as in PyTorch's loop: its gradient is pulled back through this pass.
        fake, g_vjp, g_updates = jax.vjp(gen, g_params, has_aux=True)

        def d_loss(params):  # (1) D on the real batch and the detached fake
            real_logits, upd = d_apply(params, d_others, real, k1)
            fake_logits, upd = d_apply(params, {**d_others, **upd}, jax.lax.stop_gradient(fake), k2)
            return bce_logits(real_logits, 1.0) + bce_logits(fake_logits, 0.0), upd

        (err_d, d_upd), grads = jax.value_and_grad(d_loss, has_aux=True)(d_params)
        updates, od = opt.update(grads, state["od"], d_params)
        d_params = optax.apply_updates(d_params, updates)
        d_others = {**d_others, **d_upd}

        def g_loss(fake):  # (2) G's loss through the updated D
            logits, upd = d_apply(d_params, d_others, fake, k3)
            return bce_logits(logits, 1.0), upd

        (err_g, d_upd2), grad_fake = jax.value_and_grad(g_loss, has_aux=True)(fake)
        (grads,) = g_vjp(grad_fake)
        updates, og = opt.update(grads, state["og"], g_params)
        g_params = optax.apply_updates(g_params, updates)
        new = {"g": {"params": g_params, **g_others, **g_updates}, "d": {"params": d_params, **d_others, **d_upd2},
               "og": og, "od": od, "key": key}
        return new, err_d + err_g

    def run():
        nonlocal state
        state, loss = step(state)
        return float(loss)

    run.weights = {"generator": matrix_weights(g_vars["params"]), "discriminator": matrix_weights(d_vars["params"])}
    return run


class VAE(nn.Module):
    @nn.compact
    def __call__(self, x, rng):
        h = nn.relu(nn.Dense(400)(x))
        mu, logvar = nn.Dense(20)(h), nn.Dense(20)(h)
        z = mu + jax.random.normal(rng, mu.shape) * jnp.exp(0.5 * logvar)
        return nn.Dense(784)(nn.relu(nn.Dense(400)(z))), mu, logvar


def vae_stepper(batch):
    model = VAE()
    key, kp, kx = jax.random.split(jax.random.PRNGKey(1), 3)
    x = jax.random.uniform(kx, (batch, 784))
    params = model.init(kp, x, kp)["params"]
    opt = optax.adam(1e-3)
    state = {"params": params, "opt": opt.init(params), "key": key}

    @jax.jit
    def step(state):
        key, kz = jax.random.split(state["key"])

        def loss(params):
            logits, mu, logvar = model.apply({"params": params}, x, kz)
            bce = optax.sigmoid_binary_cross_entropy(logits, x).sum()
            return bce - 0.5 * jnp.sum(1 + logvar - mu ** 2 - jnp.exp(logvar))

        value, grads = jax.value_and_grad(loss)(state["params"])
        updates, o = opt.update(grads, state["opt"], state["params"])
        return {"params": optax.apply_updates(state["params"], updates), "opt": o, "key": key}, value

    def run():
        nonlocal state
        state, value = step(state)
        return float(value)

    run.weights = {"model": matrix_weights(params)}
    return run


STEPPERS = {
    "dcgan28": lambda batch: gan_stepper(Generator28(), Discriminator28(), batch, 100, (28, 28, 1)),
    "dcgan64": lambda batch, ngf=64: gan_stepper(Generator64(ngf), Discriminator64(ngf), batch, 100, (64, 64, 1)),
    "vae": vae_stepper,
}


def time_matmul(size, n):
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.uniform(ka, (size, size), minval=-0.5, maxval=0.5)
    b = jax.random.uniform(kb, (size, size), minval=-0.5, maxval=0.5)
    product = jax.jit(lambda a, b: jnp.sum(a @ b))
    product(a, b).block_until_ready()  # compile
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        product(a, b).block_until_ready()
        seconds.append(time.perf_counter() - start)
    return seconds


def info():
    return {"side": "jax", "jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__,
            "device": str(jax.devices()[0]), "cores": str(len(os.sched_getaffinity(0))),
            "python": sys.version.split()[0]}


def main():
    run(arguments(__doc__, STEPPERS).parse_args(), STEPPERS, info, time_matmul)


if __name__ == "__main__":
    main()
