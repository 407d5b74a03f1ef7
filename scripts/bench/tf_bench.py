#!/usr/bin/env python3
"""TensorFlow 2 side of `make bench`: the TensorFlow DCGAN tutorial's networks and a tf.function step.

DCGAN-28 only (the tutorial's own model): make_generator_model and make_discriminator_model as
the tutorial writes them in Keras (Dense 7x7x256 without bias, BatchNormalization, LeakyReLU,
Conv2DTranspose 5x5 'same' to 128, 64 and 1 channels with tanh; Conv2D 5x5 stride 2 to 64 and
128 channels with LeakyReLU and Dropout(0.3), Dense(1)), advlab's models.DCGAN28Tutorial.

The step is the tutorial's train_step under @tf.function with one change that makes it do the
same work as advlab's and PyTorch's step (lib/bench): the discriminator is updated first on the
real batch and the fake batch, then the generator's loss goes through the updated discriminator
(the tutorial takes both gradients from one forward pass); the
generator runs once, as in PyTorch's loop. Adam(2e-4, beta_1 0.5), batch 64,
fresh latent vectors each step, random images of the real shape.

    OMP_NUM_THREADS=$(nproc) build/peers/tf/bin/python scripts/bench/tf_bench.py [--serve]

Threads: TensorFlow's intra-op pool gets OMP_NUM_THREADS threads (default: all cores) and one
inter-op thread, the same cores as the other columns.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_protocol import arguments, run  # noqa: E402

THREADS = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)
layers = tf.keras.layers


def make_generator_model(nz=100):
    return tf.keras.Sequential([
        layers.Input((nz,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(0.3),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(0.3),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(0.3),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"),
    ])


def make_discriminator_model():
    return tf.keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"), layers.LeakyReLU(0.3), layers.Dropout(0.3),
        layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"), layers.LeakyReLU(0.3), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])


def dcgan28(batch, nz=100):
    tf.random.set_seed(1)
    generator, discriminator = make_generator_model(nz), make_discriminator_model()
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)
    images = tf.random.uniform((batch, 28, 28, 1), -1, 1)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch, nz])
        with tf.GradientTape() as gen_tape:
            generated = generator(noise, training=True)
            with gen_tape.stop_recording():  # D's update: real and detached fake
                with tf.GradientTape() as disc_tape:
                    real_output = discriminator(images, training=True)
                    fake_output = discriminator(generated, training=True)
                    disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + \
                        cross_entropy(tf.zeros_like(fake_output), fake_output)
                d_vars = discriminator.trainable_variables
                d_opt.apply_gradients(zip(disc_tape.gradient(disc_loss, d_vars), d_vars))
            fake_output = discriminator(generated, training=True)  # G's loss through the updated D
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
        g_vars = generator.trainable_variables
        g_opt.apply_gradients(zip(gen_tape.gradient(gen_loss, g_vars), g_vars))
        return disc_loss + gen_loss

    def step():
        return float(train_step(images))

    step.weights = {"generator": matrix_weights(generator), "discriminator": matrix_weights(discriminator)}
    return step


def matrix_weights(model):
    """Counts the kernels' weights (variables of two or more dimensions: no biases or batch norm)."""
    return sum(int(v.shape.num_elements()) for v in model.trainable_variables if len(v.shape) >= 2)


STEPPERS = {"dcgan28": dcgan28}


def time_matmul(size, n):
    a, b = tf.random.uniform((size, size), -0.5, 0.5), tf.random.uniform((size, size), -0.5, 0.5)
    tf.reduce_sum(tf.matmul(a, b)).numpy()  # warm-up
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        tf.reduce_sum(tf.matmul(a, b)).numpy()
        seconds.append(time.perf_counter() - start)
    return seconds


def info():
    return {"side": "tensorflow", "tensorflow": tf.__version__, "keras": tf.keras.__version__,
            "threads": str(THREADS), "python": sys.version.split()[0],
            "step": "tutorial train_step under tf.function, D then G through the updated D"}


def main():
    run(arguments(__doc__, STEPPERS).parse_args(), STEPPERS, info, time_matmul)


if __name__ == "__main__":
    main()
