"""Benchmarks the PCD machinery at the robust CRF paper's COCO sizes.

    python bench/pcd_sampler.py                       # CPU-sized defaults
    python bench/pcd_sampler.py --backbone=resnet50 --image_size=224 --batch_size=32

Prints:
1. Block-Gibbs throughput at N=1000 noisy labels, C=73 clean labels, H=200
   hidden units, 50 chains per example, 100 sweeps, in GFLOP/s (two
   matrix products per sweep: 4 N (C + H) FLOPs per chain), and as a
   fraction of dense matmuls measured in the same run (the same shapes,
   and a large square one).
2. The CRF training step time (sampling, chain bank, PCD surrogate) over
   the cross-entropy step time with the same backbone and batch (the
   paper: +8% to +16% for ResNet-50 on a GPU).
3. The chain bank's memory at COCO scale (70K examples x 50 chains): bits
   packed into int32 words, against one byte per unit and the paper's ~1 GB.
4. Test-time marginals at yeast's sizes (N = C = 14, H = 32, 1,000
   examples): exact enumeration of the 2^N noisy configurations (what
   `predict_inference="auto"` does for N <= 16) against the default Gibbs
   estimate (50 chains, 100 + 100 sweeps): time ratio and largest gap.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from scripts.harness import runtime as environment  # noqa: E402

tf = environment.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from robustcrf.multilabel.chain_bank import ChainBank  # noqa: E402
from robustcrf.multilabel.chain_bank import words_per_state  # noqa: E402
from robustcrf.multilabel.conditionals import FactorialConditionals  # noqa: E402
from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel  # noqa: E402
from robustcrf.multilabel.energy import CRFEnergy  # noqa: E402
from robustcrf.multilabel import exact  # noqa: E402
from scripts.harness.crf_table1 import make_backbone  # noqa: E402
from robustcrf.multilabel.gibbs import BlockGibbsSampler  # noqa: E402
from robustcrf.multilabel.model import RobustMultilabelCRF  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_noisy", 1000, "N (paper: 1000 caption words).")
flags.DEFINE_integer("num_clean", 73, "C (paper: 73 COCO categories).")
flags.DEFINE_integer("num_hidden", 200, "H (paper: 200).")
flags.DEFINE_integer("num_chains", 50, "Chains per example (paper: 50).")
flags.DEFINE_integer("num_sweeps", 100, "Gibbs sweeps per step (paper: 100).")
flags.DEFINE_integer("batch_size", 16, "Examples per step.")
flags.DEFINE_enum("backbone", "resnet50", ["small_cnn", "resnet50", "vgg16"], "Backbone.")
flags.DEFINE_integer("image_size", 64, "Image side for the step timing (paper: 224, 565).")
flags.DEFINE_integer("repeats", 3, "Timed repetitions (after one warm-up).")
flags.DEFINE_integer("rounds", 3, "Alternating timing rounds of the two training steps.")
flags.DEFINE_integer("bank_examples", 70000, "Examples of the bank-memory figure (COCO).")
flags.DEFINE_integer("small_noisy", 14, "N = C of the test-time marginals figure (yeast: 14).")


def _timed(function, repeats):
    function()  # warm-up: tracing, allocation
    started = time.perf_counter()
    for _ in range(repeats):
        result = function()
    tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, result)
    return (time.perf_counter() - started) / repeats


def gibbs_throughput():
    """GFLOP/s of block Gibbs and of dense matmuls of the same shapes."""
    batch, chains, sweeps = FLAGS.batch_size, FLAGS.num_chains, FLAGS.num_sweeps
    num_clean, num_noisy, num_hidden = FLAGS.num_clean, FLAGS.num_noisy, FLAGS.num_hidden
    energy = CRFEnergy(num_clean, num_noisy, num_hidden)
    rng = np.random.default_rng(0)
    energy.clean_noisy_kernel.assign(0.05 * rng.standard_normal((num_clean, num_noisy)))
    energy.hidden_noisy_kernel.assign(0.05 * rng.standard_normal((num_hidden, num_noisy)))
    sampler = BlockGibbsSampler(FactorialConditionals(energy), seed=0)
    a = tf.constant(rng.standard_normal((batch, 1, num_clean)), tf.float32)
    b = tf.constant(rng.standard_normal((batch, 1, num_noisy)), tf.float32)
    state = tf.zeros((batch, chains, sampler.state_size))
    run = tf.function(lambda: sampler(a, b, state, num_sweeps=sweeps))
    seconds = _timed(run, FLAGS.repeats)
    flops = 4.0 * num_noisy * (num_clean + num_hidden) * batch * chains * sweeps

    latent = tf.constant(rng.random((batch * chains, num_clean + num_hidden)), tf.float32)
    kernel = tf.constant(rng.standard_normal((num_clean + num_hidden, num_noisy)), tf.float32)

    @tf.function
    def same_shape_matmuls():
        def body(i, x):
            y = tf.matmul(x, kernel)
            return i + 1, tf.matmul(y, kernel, transpose_b=True) * 1e-3

        return tf.while_loop(lambda i, _: i < sweeps, body, (0, latent))[1]

    matmul_seconds = _timed(same_shape_matmuls, FLAGS.repeats)
    square = tf.constant(rng.standard_normal((2048, 2048)), tf.float32)
    square_seconds = _timed(tf.function(lambda: tf.matmul(square, square)), 5 * FLAGS.repeats)
    sampler_rate = flops / seconds / 1e9
    matmul_rate = flops / matmul_seconds / 1e9
    square_rate = 2.0 * 2048 ** 3 / square_seconds / 1e9
    print(f"Gibbs: {batch} examples x {chains} chains x {sweeps} sweeps, N={num_noisy}, "
          f"C={num_clean}, H={num_hidden}: {seconds:.3f} s, {sampler_rate:.1f} GFLOP/s")
    print(f"  dense matmuls of the same shapes: {matmul_rate:.1f} GFLOP/s -> Gibbs at "
          f"{100 * sampler_rate / matmul_rate:.0f}%")
    print(f"  2048x2048 matmul: {square_rate:.1f} GFLOP/s -> Gibbs at "
          f"{100 * sampler_rate / square_rate:.0f}%")


def step_times():
    """Seconds per CRF and cross-entropy training step on the same backbone."""
    batch, side = FLAGS.batch_size, FLAGS.image_size
    channels = 1 if FLAGS.backbone == "small_cnn" else 3
    shape = (side, side, channels)
    rng = np.random.default_rng(0)
    examples = 4 * batch
    images = rng.random((examples,) + shape).astype(np.float32)
    noisy = (rng.random((examples, FLAGS.num_noisy)) < 0.01).astype(np.uint8)
    clean = (rng.random((examples, FLAGS.num_clean)) < 0.05).astype(np.uint8)
    is_clean = (np.arange(examples) % 5 == 0).astype(np.uint8)
    elements = {"image": images, "index": np.arange(examples), "label": noisy,
                "verified_label": clean * is_clean[:, None], "is_clean": is_clean}
    crf_data = tf.data.Dataset.from_tensor_slices(elements).repeat().batch(batch)
    ce_data = tf.data.Dataset.from_tensor_slices(
        {"image": images, "label": clean}).repeat().batch(batch)
    jit = bool(tf.config.list_physical_devices("GPU"))
    models = {}
    for name in ("cross_entropy", "crf"):
        keras.utils.set_random_seed(0)
        backbone = make_backbone(FLAGS.backbone, shape, width=32)
        if name == "crf":
            model = RobustMultilabelCRF(backbone, FLAGS.num_clean, FLAGS.num_noisy,
                                        num_examples=examples, num_hidden=FLAGS.num_hidden,
                                        num_chains=FLAGS.num_chains, num_sweeps=FLAGS.num_sweeps,
                                        seed=0)
        else:
            model = CrossEntropyMultilabel(backbone, FLAGS.num_clean)
        model.compile(optimizer=keras.optimizers.Adam(3e-4, epsilon=0.1), jit_compile=jit)
        data = crf_data if name == "crf" else ce_data
        model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)  # warm-up: tracing
        models[name] = (model, data)
    # Alternate the two models and keep each one's fastest round, so load from
    # other processes on a shared machine biases neither.
    times = {name: float("inf") for name in models}
    for _ in range(FLAGS.rounds):
        for name, (model, data) in models.items():
            started = time.perf_counter()
            model.fit(data, epochs=1, steps_per_epoch=FLAGS.repeats, verbose=0)
            times[name] = min(times[name], (time.perf_counter() - started) / FLAGS.repeats)
    print(f"Training step, {FLAGS.backbone} at {side}x{side}, batch {batch} "
          f"(jit_compile={jit}): cross-entropy {times['cross_entropy']:.3f} s, "
          f"CRF {times['crf']:.3f} s -> CRF/CE = {times['crf'] / times['cross_entropy']:.2f} "
          f"(+{100 * (times['crf'] / times['cross_entropy'] - 1):.0f}%; paper, GPU: +8% to +16%)")


def bank_memory():
    """Bytes of the chain bank at COCO scale, measured on the allocated variable."""
    units = FLAGS.num_clean + FLAGS.num_hidden
    bank = ChainBank(FLAGS.bank_examples, FLAGS.num_chains, min(units, FLAGS.num_noisy))
    allocated = bank.states.value.numpy().nbytes
    one_byte_per_unit = FLAGS.bank_examples * FLAGS.num_chains * units
    print(f"Chain bank, {FLAGS.bank_examples} examples x {FLAGS.num_chains} chains x {units} "
          f"units ({words_per_state(units)} int32 words per chain): {allocated / 1e6:.1f} MB "
          f"({allocated / 2 ** 20:.1f} MiB) allocated; one byte per unit would be "
          f"{one_byte_per_unit / 1e6:.0f} MB; the paper stored about 1 GB; target <= 128 MB.")


def test_time_marginals(num_examples=1000, batch=256, num_hidden=32):
    """Seconds for exact and Gibbs test-time marginals of one random small CRF."""
    size = FLAGS.small_noisy
    energy = CRFEnergy(size, size, num_hidden)
    rng = np.random.default_rng(0)
    energy.clean_noisy_kernel.assign(0.5 * rng.standard_normal((size, size)))
    energy.hidden_noisy_kernel.assign(0.5 * rng.standard_normal((num_hidden, size)))
    sampler = BlockGibbsSampler(FactorialConditionals(energy), seed=0)
    a = tf.constant(rng.standard_normal((num_examples, size)), tf.float32)
    b = tf.constant(rng.standard_normal((num_examples, size)) - 1.0, tf.float32)
    methods = {
        "exact": tf.function(lambda a, b: exact.clean_marginals(energy, a, b)),
        "gibbs": tf.function(lambda a, b: sampler.clean_marginals(a, b, 50, 100, 100)),
    }
    seconds, marginals = {}, {}
    for name, function in methods.items():
        def run():
            return tf.concat([function(a[i:i + batch], b[i:i + batch])
                              for i in range(0, num_examples, batch)], 0)
        seconds[name] = _timed(run, FLAGS.repeats)
        marginals[name] = run().numpy()
    gap = np.abs(marginals["exact"] - marginals["gibbs"]).max()
    print(f"Test-time marginals, N=C={size}, H={num_hidden}, {num_examples} examples: exact "
          f"{seconds['exact']:.2f} s, Gibbs (50 chains, 100 + 100 sweeps) "
          f"{seconds['gibbs']:.2f} s -> exact/Gibbs = {seconds['exact'] / seconds['gibbs']:.2f}; "
          f"largest gap {gap:.3f}")


def main(argv):
    del argv
    print(f"Device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'} "
          f"({os.cpu_count()} CPU cores visible)")
    gibbs_throughput()
    step_times()
    bank_memory()
    test_time_marginals()


if __name__ == "__main__":
    app.run(main)
