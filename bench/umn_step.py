"""Training-step time of UMN against M2 without the guider, same run.

Both models share the architecture, batch and data; M2 is
`UncertaintyMiningNet(uncertainty="zero", ema_decay=None)`: the same
stacked VAE and labelled term with no guider forward pass and no EMA
update. Timings alternate between the two models (median of `--repeats`
blocks of `--steps` steps, after a warm-up that includes tracing), so load
on a shared machine affects both alike.

    python bench/umn_step.py                      # mlp on 8x8 digits-sized input
    python bench/umn_step.py --architecture=conv13 --conv_width=32 --batch_size=64
"""

import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.harness import runtime as environment  # noqa: E402

tf = environment.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from umn import streams  # noqa: E402
from umn.model import UncertaintyMiningNet  # noqa: E402

flags.DEFINE_enum("architecture", "mlp", ["mlp", "conv13"], "Network family.")
flags.DEFINE_integer("batch_size", 100, "Examples per step.")
flags.DEFINE_integer("labelled_per_batch", 10, "Labelled examples per step.")
flags.DEFINE_integer("steps", 50, "Steps per timed block.")
flags.DEFINE_integer("repeats", 5, "Timed blocks per model (median reported).")
flags.DEFINE_integer("hidden_units", 256, "MLP width.")
flags.DEFINE_integer("conv_width", 128, "conv13 width (128 in the paper).")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the train steps.")
FLAGS = flags.FLAGS

SHAPES = {"mlp": (8, 8, 1), "conv13": (32, 32, 3)}


def build(uncertainty, ema_decay, shape):
    keras.utils.set_random_seed(0)
    model = UncertaintyMiningNet(shape, 10, architecture=FLAGS.architecture,
                                 hidden_units=FLAGS.hidden_units, conv_width=FLAGS.conv_width,
                                 uncertainty=uncertainty, ema_decay=ema_decay, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.99),
                  jit_compile=FLAGS.jit_compile)
    return model


def timed_block(model, iterator, steps):
    start = time.perf_counter()
    model.fit(iterator, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / steps


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # retracing notes of the two models
    shape = SHAPES[FLAGS.architecture]
    rng = np.random.default_rng(0)
    n = 20 * FLAGS.batch_size
    images = rng.uniform(size=(n,) + shape).astype("float32")
    labels = np.full(n, -1, np.int64)
    labels[: 10 * FLAGS.labelled_per_batch] = rng.integers(0, 10, 10 * FLAGS.labelled_per_batch)
    stream, _ = streams.semi_supervised_stream(
        images, labels, 10, FLAGS.labelled_per_batch,
        FLAGS.batch_size - FLAGS.labelled_per_batch, 0, held_out_disbelief=False)
    models = {"umn": build("guider", 0.99, shape), "m2": build("zero", None, shape)}
    for name, model in models.items():
        timed_block(model, stream, 3)  # trace and warm up
    times = {name: [] for name in models}
    for _ in range(FLAGS.repeats):
        for name, model in models.items():
            times[name].append(timed_block(model, stream, FLAGS.steps))
    umn, m2 = (1000 * float(np.median(times[k])) for k in ("umn", "m2"))
    print(f"architecture={FLAGS.architecture} input={shape} batch={FLAGS.batch_size} "
          f"steps={FLAGS.steps}x{FLAGS.repeats} jit_compile={FLAGS.jit_compile}")
    print(f"M2 without guider: {m2:.2f} ms/step (median)")
    print(f"UMN (guider + EMA): {umn:.2f} ms/step (median)")
    print(f"UMN / M2 step time: {umn / m2:.2f}x")


if __name__ == "__main__":
    app.run(main)
