"""Training step time of Learning to Reweight and MentorNet over plain cross-entropy.

Every model gets the same backbone architecture (`small_cnn`, the digits
default), the same noisy batch and the same compiled `fit` loop; Learning
to Reweight also gets a clean batch of the same size each step. Timed rounds
alternate between the models so a shared, busy CPU slows all alike.
Learning to Reweight needs about three passes per step (clean backward,
noisy forward-mode, real step); `nested` runs the virtual step through
nested tapes instead. MentorNet adds a percentile and, with a mentor, a tiny
MLP per step.

    python -m bench.reweighting_step
    python -m bench.reweighting_step --image_size=32 --channels=3 --width=32
"""

import time

from absl import app
from absl import flags

from scripts.harness import runtime as environment
from robustcrf.learning_to_reweight import LearningToReweight
from robustcrf.losses import CrossEntropy
from robustcrf.mentor_net import MentorNet
from robustcrf.mentored_model import MentoredModel
from scripts.harness import crf_table2 as table2
from tf_data.batch_keys import CLEAN_IMAGE_KEY
from tf_data.batch_keys import CLEAN_LABEL_KEY
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY

tf = environment.import_tensorflow_quietly()
import keras  # noqa: E402
import numpy as np  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("width", 16, "small_cnn width (the digits default is 16).")
flags.DEFINE_integer("image_size", 8, "Image height and width (digits: 8).")
flags.DEFINE_integer("channels", 1, "Image channels.")
flags.DEFINE_integer("num_classes", 10, "C.")
flags.DEFINE_integer("batch_size", 64, "Noisy (and clean) examples per step.")
flags.DEFINE_integer("steps", 100, "Steps per timed round.")
flags.DEFINE_integer("rounds", 5, "Timed rounds per model (alternating).")

KINDS = ("cross_entropy", "reweight", "reweight_nested", "mentornet_predefined",
         "mentornet_learned")


def make_model(kind, image_shape, num_classes):
    """A compiled model of `kind` on a fresh backbone."""
    keras.utils.set_random_seed(0)
    preset = table2.resolve_preset("default", width=FLAGS.width)
    backbone = table2.build_logits_backbone(preset, image_shape, num_classes)
    if kind == "cross_entropy":
        model, loss = backbone, CrossEntropy()
    elif kind.startswith("reweight"):
        model = LearningToReweight(
            backbone, meta_gradient="nested" if kind.endswith("nested") else "first_order")
        loss = None
    else:
        mentor = MentorNet(num_classes) if kind.endswith("learned") else None
        model, loss = MentoredModel(backbone, mentor=mentor), None
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, jit_compile=False)
    return model


def main(argv):
    del argv
    image_shape = (FLAGS.image_size, FLAGS.image_size, FLAGS.channels)
    rng = np.random.default_rng(0)
    batch = {IMAGE_KEY: rng.random((FLAGS.batch_size,) + image_shape).astype("float32"),
             LABEL_KEY: rng.integers(0, FLAGS.num_classes, size=FLAGS.batch_size),
             CLEAN_IMAGE_KEY: rng.random((FLAGS.batch_size,) + image_shape).astype("float32"),
             CLEAN_LABEL_KEY: rng.integers(0, FLAGS.num_classes, size=FLAGS.batch_size)}
    streams = {
        "tuples": tf.data.Dataset.from_tensors((batch[IMAGE_KEY], batch[LABEL_KEY])).repeat(),
        "with_clean": tf.data.Dataset.from_tensors(batch).repeat(),
    }
    models = {kind: make_model(kind, image_shape, FLAGS.num_classes) for kind in KINDS}
    stream_of = {kind: streams["with_clean" if kind.startswith("reweight") else "tuples"]
                 for kind in KINDS}
    for kind, model in models.items():  # Warm-up: tracing and first steps.
        model.fit(stream_of[kind], steps_per_epoch=10, epochs=1, verbose=0, shuffle=False)
    seconds = {kind: [] for kind in models}
    for _ in range(FLAGS.rounds):
        for kind, model in models.items():
            start = time.perf_counter()
            model.fit(stream_of[kind], steps_per_epoch=FLAGS.steps, epochs=1, verbose=0,
                      shuffle=False)
            seconds[kind].append(time.perf_counter() - start)
    milliseconds = {kind: 1000 * np.median(times) / FLAGS.steps for kind, times in seconds.items()}
    print(f"small_cnn width={FLAGS.width} input={image_shape} batch={FLAGS.batch_size} "
          f"C={FLAGS.num_classes} steps/round={FLAGS.steps} rounds={FLAGS.rounds} (median)")
    for kind in KINDS:
        print(f"{kind:>21}: {milliseconds[kind]:7.2f} ms/step, "
              f"{milliseconds[kind] / milliseconds['cross_entropy']:.2f}x cross-entropy")


if __name__ == "__main__":
    app.run(main)
