"""One model family trained for a few steps, alone or as one worker of a cluster.

`python tests/multi_worker_family.py FAMILY OUTPUT.npz [--epochs=3]
[--size=8] [--scale=test|bench] [--learning_rate=0.05]` trains without a strategy; with
`TF_CONFIG` set and `--strategy=multi_worker` it is one worker
of a `MultiWorkerMirroredStrategy` cluster. Both feed the same global
batches, so tests/test_multi_worker.py can compare the workers with each
other and with the single process. Writes every model and optimizer
variable (plus the family's watched state) to OUTPUT.npz and prints the
loss history as JSON. bench/multi_worker.py times the same runs.
"""

import json
import os
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tf_data import distribute  # noqa: E402

FAMILIES = ("multiclass_crf", "multilabel_crf", "umn", "baselines")
# Image side and network widths: tiny for the test, MNIST-sized for the benchmark.
# The test's UMN family also trains the warm-ups weighted by the held-out view
# (as it is, and noise-corrected); the benchmark times the default model alone.
SCALES = {"test": dict(side=8, width=4, hidden=16, latent=4,
                       umn_warmups=("uniform", "held_out", "noise_corrected")),
          "bench": dict(side=28, width=32, hidden=500, latent=50, umn_warmups=("uniform",))}


class EpochTimes(keras.callbacks.Callback):
    """Wall seconds of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _multiclass_crf(rng, epochs, size, side, width, **_):
    import tf_data
    from robustcrf.alpha_annealing import AlphaAnnealing
    from robustcrf.auxiliary import AuxiliaryPosterior
    from robustcrf.backbones import build_backbone
    from robustcrf.robust_model import RobustCRFModel
    from robustcrf.robust_model import add_logits_head

    images = rng.random((4 * size, side, side, 1)).astype("float32")
    labels = rng.integers(0, 3, 4 * size)
    transition = tf_data.transition_matrix("symmetric", 3, 0.2)
    auxiliary = AuxiliaryPosterior.from_transition_matrix(transition, np.full(3, 1 / 3))
    backbone = add_logits_head(build_backbone("small_cnn", (side, side, 1), width=width), 3)
    model = RobustCRFModel(backbone, auxiliary, alpha=4.0, class_balance=1.0)
    dataset = tf_data.training_pipeline(
        tf_data.example_features(images, labels), size, seed=0,
        augmentation=tf_data.make_pipeline_augmentation(max_shift=1, flip=True))
    return [(model, dataset, None, [AlphaAnnealing(4.0, 1.0, epochs=epochs)], None)], {
        "alpha": lambda: [model.alpha]}


def toy_multilabel_crf(rng, n):
    """`(model, split)`: a multilabel CRF (2 clean, 3 noisy labels, 2 hidden units,
    3 chains) on a one-layer CNN, and `n` random 6x6 examples."""
    from robustcrf.multilabel.model import RobustMultilabelCRF
    from tf_data.multilabel_dataset import MultilabelSplit

    split = MultilabelSplit(rng.integers(0, 2, (n, 2)), rng.integers(0, 2, (n, 3)),
                            images=rng.random((n, 6, 6, 1)).astype("float32"))
    inputs = keras.Input((6, 6, 1))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    model = RobustMultilabelCRF(keras.Model(inputs, features), 2, 3, num_examples=n,
                                num_hidden=2, num_chains=3, num_sweeps=2, seed=0)
    return model, split


def _multilabel_crf(rng, epochs, size, **_):
    from robustcrf.multilabel import data

    n = 6 * size
    model, split = toy_multilabel_crf(rng, n)
    # 2 clean + 6 noisy rows per batch (size 8): 8 steps visit each of the 16
    # clean and 32 noisy examples... once per pass of each set.
    dataset = data.mixed_training_batches(split, np.arange(n // 3), size, size // 4, seed=0)
    return [(model, dataset, 8, [], None)], {
        "chain_states": lambda: [model.chain_bank.states],
        "chain_visits": lambda: [model.chain_bank.visits]}


def _umn(rng, epochs, size, side, hidden, latent, umn_warmups, **_):
    from umn import streams
    from umn.model import UncertaintyMiningNet

    images = rng.random((4 * size, side, side, 1)).astype("float32")
    labels = np.full(4 * size, -1, np.int64)
    labels[:size] = rng.integers(0, 10, size)
    runs = []
    # `warmup_weights` of each model: "uniform" (label spreading's view's
    # default: every label weighted alike), "held_out" (each label by its held-out view in the
    # batches) and "noise_corrected" (by its chance of being wrong given the
    # view at the model's noise_rate); all switch to eps a third of the way.
    for warmup_weights in umn_warmups:
        # Dropout draws per replica (Keras' Dropout layer), so it is off here to
        # compare with a single process exactly; every other draw is shared.
        model = UncertaintyMiningNet((side, side, 1), 10, hidden_units=hidden,
                                     latent_dim=latent, class_latent_dim=3, seed=0, max_shift=1,
                                     dropout_rate=0.0, noise_rate=0.2,
                                     held_out_view="label_spreading",   # the stream's
                                     warmup_weights=warmup_weights)
        dataset, steps = streams.semi_supervised_stream(images, labels, 10, size // 4,
                                                        size - size // 4, 0)
        runs.append((model, dataset, steps, [], None))
    return runs, {"guider": lambda: [w for model, *_ in runs for w in model.guider.weights]}


def _baselines(rng, epochs, size, **_):
    import tf_data
    from robustcrf.backbones import build_backbone
    from robustcrf.losses import CrossEntropy
    from robustcrf.multilabel import data as multilabel_data
    from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel
    from robustcrf.robust_model import add_logits_head
    from tf_data.multilabel_dataset import MultilabelSplit
    from umn import streams
    from umn.mean_teacher import MeanTeacher
    from umn.supervised import SupervisedClassifier

    images = rng.random((4 * size, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 3, 4 * size)
    partial = np.full(4 * size, -1, np.int64)
    partial[:size] = labels[:size]
    runs = []
    backbone = add_logits_head(build_backbone("small_cnn", (8, 8, 1), width=4), 3)
    runs.append((backbone, tf_data.training_pipeline(
        tf_data.example_features(images, labels), size, seed=0).map(
            lambda batch: (batch["image"], batch["label"])), None, [], CrossEntropy()))
    supervised = SupervisedClassifier((8, 8, 1), 3, hidden_units=8, latent_dim=4, seed=0,
                                      dropout_rate=0.0)
    runs.append((supervised, *streams.labelled_stream(images, partial, 3, size, 0), [], None))
    teacher = MeanTeacher((8, 8, 1), 3, hidden_units=8, latent_dim=4, rampup_steps=2, seed=0,
                          dropout_rate=0.0)
    runs.append((teacher, *streams.semi_supervised_stream(
        images, partial, 3, size // 4, size - size // 4, 0), [], None))
    split = MultilabelSplit(rng.integers(0, 2, (4 * size, 2)), rng.integers(0, 2, (4 * size, 3)),
                            images=rng.random((4 * size, 6, 6, 1)).astype("float32"))
    inputs = keras.Input((6, 6, 1))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    runs.append((CrossEntropyMultilabel(keras.Model(inputs, features), 3),
                 multilabel_data.supervised_batches(split, split.noisy_labels, size, 0), 4, [], None))
    return runs, {"teacher": lambda: teacher.guider.weights}


def train(family, strategy, epochs=3, size=8, scale="test", learning_rate=0.05):
    """Trains the family's models for `epochs` on global batches of `size`.

    Returns:
        `(histories, variables, watched, timing)`: each model's epoch
        losses, every variable by run and path, the family's watched state,
        and per run the wall seconds of each epoch and the steps per epoch.
    """
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    builder = {"multiclass_crf": _multiclass_crf, "multilabel_crf": _multilabel_crf,
               "umn": _umn, "baselines": _baselines}[family]
    with distribute.strategy_scope(strategy):
        runs, watched = builder(rng, epochs, size, **SCALES[scale])
        for model, *_, loss in runs:
            # Plain SGD: a gradient scaled wrongly across replicas changes the
            # weights (Adam would hide a constant factor).
            model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=loss)
    histories, timing = [], []
    for model, dataset, steps, callbacks, _ in runs:
        times = EpochTimes()
        history = model.fit(dataset, epochs=epochs, steps_per_epoch=steps, verbose=0,
                            callbacks=[*callbacks, times])
        histories.append(history.history.get("loss", []))
        steps = steps or int(dataset.cardinality())
        timing.append({"epoch_seconds": times.seconds, "steps_per_epoch": steps})
    variables = {}
    for r, (model, *_) in enumerate(runs):
        for i, variable in enumerate(model.variables + model.optimizer.variables):
            variables[f"run{r}/{i}/{variable.path}"] = keras.ops.convert_to_numpy(variable)
    watched = {name: [keras.ops.convert_to_numpy(v) for v in get()]
               for name, get in watched.items()}
    return histories, variables, watched, timing


def free_ports(count):
    """`count` TCP ports free on localhost now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cluster_configs(count):
    """`TF_CONFIG` dicts of a `count`-worker cluster on free localhost ports."""
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(count)]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(count)]


def launch(family, output, tf_config=None, **flags):
    """Starts this program in a subprocess: alone, or as the worker of `tf_config`.

    Args:
        family: one of `FAMILIES`.
        output: the .npz path it writes.
        tf_config: a `TF_CONFIG` dict (then `--strategy=multi_worker`), or None.
        **flags: more `--name=value` flags (epochs, size, scale, learning_rate).

    Returns:
        The `subprocess.Popen`; pass it to `report`.
    """
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    environment.pop("TF_CONFIG", None)
    if tf_config is not None:
        environment["TF_CONFIG"] = json.dumps(tf_config)
        flags["strategy"] = "multi_worker"
    command = [sys.executable, os.path.abspath(__file__), family, os.fspath(output)]
    command += [f"--{name}={value}" for name, value in flags.items()]
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def report(process, timeout=1200):
    """The JSON report of a process from `launch`; raises with its stderr if it failed."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"A training process failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def main(argv):
    family, output = argv[1], argv[2]
    flags = dict(flag[2:].split("=", 1) for flag in argv[3:])
    strategy = distribute.make_strategy(flags.get("strategy", "none"))
    histories, variables, watched, timing = train(
        family, strategy, epochs=int(flags.get("epochs", 3)), size=int(flags.get("size", 8)),
        scale=flags.get("scale", "test"), learning_rate=float(flags.get("learning_rate", 0.05)))
    arrays = dict(variables)
    for name, values in watched.items():
        arrays.update({f"watched/{name}/{i}": v for i, v in enumerate(values)})
    np.savez(output, **arrays)
    print(json.dumps({"loss": histories, "timing": timing,
                      "workers": distribute.worker_count(strategy),
                      "chief": distribute.is_chief(strategy)}))


if __name__ == "__main__":
    main(sys.argv)
