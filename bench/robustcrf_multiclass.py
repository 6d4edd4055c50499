"""Training steps per second of the robust CRF vs cross-entropy, same backbone and batch.

Both models get the same backbone architecture, batch and compiled
(`jit_compile=False`) `fit` loop; the timed rounds alternate between them so
a shared, busy CPU slows both alike. The CRF's extra work per step is the
C x C log-partition, the posterior q of Eq. 10 and the M-step objective.

    python -m bench.robustcrf_multiclass
    python -m bench.robustcrf_multiclass --backbone=resnet32 --image_size=32 --channels=3
"""

import time

from absl import app
from absl import flags

from scripts.harness import runtime as environment
from scripts.harness import crf_table2 as table2
from robustcrf.auxiliary import AuxiliaryPosterior
from robustcrf.losses import CrossEntropy
from robustcrf.robust_model import RobustCRFModel

tf = environment.import_tensorflow_quietly()
import keras  # noqa: E402
import numpy as np  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("backbone", "small_cnn", "small_cnn, resnet32, resnet50 or vgg16.")
flags.DEFINE_integer("width", 16, "small_cnn width (the digits default is 16).")
flags.DEFINE_integer("image_size", 8, "Image height and width (digits: 8).")
flags.DEFINE_integer("channels", 1, "Image channels.")
flags.DEFINE_integer("num_classes", 10, "C.")
flags.DEFINE_integer("batch_size", 64, "Examples per step.")
flags.DEFINE_integer("steps", 100, "Steps per timed round.")
flags.DEFINE_integer("rounds", 5, "Timed rounds per model (alternating).")


def make_model(kind, preset, image_shape, num_classes):
    """A compiled CRF or cross-entropy model on a fresh backbone."""
    keras.utils.set_random_seed(0)
    backbone = table2.build_logits_backbone(preset, image_shape, num_classes)
    if kind == "robustcrf":
        transition = np.full((num_classes, num_classes), 0.2 / (num_classes - 1))
        np.fill_diagonal(transition, 0.8)
        auxiliary = AuxiliaryPosterior.from_transition_matrix(
            transition, np.full(num_classes, 1.0 / num_classes))
        model = RobustCRFModel(backbone, auxiliary, alpha=1.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    else:
        model = backbone
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=CrossEntropy(),
                      jit_compile=False)
    return model


def main(argv):
    del argv
    preset = table2.resolve_preset("default", backbone=FLAGS.backbone, width=FLAGS.width,
                                   batch_size=FLAGS.batch_size)
    image_shape = (FLAGS.image_size, FLAGS.image_size, FLAGS.channels)
    rng = np.random.default_rng(0)
    images = rng.random((FLAGS.batch_size,) + image_shape).astype("float32")
    labels = rng.integers(0, FLAGS.num_classes, size=FLAGS.batch_size)
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(2)
    models = {kind: make_model(kind, preset, image_shape, FLAGS.num_classes)
              for kind in ("cross_entropy", "robustcrf")}
    for model in models.values():  # Warm-up: tracing and first steps.
        model.fit(dataset, steps_per_epoch=10, epochs=1, verbose=0, shuffle=False)
    seconds = {kind: [] for kind in models}
    for _ in range(FLAGS.rounds):
        for kind, model in models.items():
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=FLAGS.steps, epochs=1, verbose=0, shuffle=False)
            seconds[kind].append(time.perf_counter() - start)
    rates = {kind: FLAGS.steps / np.median(times) for kind, times in seconds.items()}
    print(f"backbone={FLAGS.backbone} input={image_shape} batch={FLAGS.batch_size} "
          f"C={FLAGS.num_classes} steps/round={FLAGS.steps} rounds={FLAGS.rounds} (median)")
    for kind, rate in rates.items():
        print(f"{kind:>13}: {rate:8.1f} steps/s")
    overhead = rates["cross_entropy"] / rates["robustcrf"]
    print(f"CRF overhead: a CRF step takes {overhead:.2f}x the time of a cross-entropy step")


if __name__ == "__main__":
    app.run(main)
