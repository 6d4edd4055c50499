"""fit under tf.distribute.MirroredStrategy on 2 logical CPU devices.

Logical devices must be configured before TensorFlow runs any op, and other
tests initialise TensorFlow first, so the check runs in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from robustcrf.multilabel import data
    from robustcrf.multilabel.model import RobustMultilabelCRF
    from tf_data.multilabel_dataset import MultilabelSplit

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n, clean_rows = 12, np.arange(4)
    split = MultilabelSplit(rng.integers(0, 2, (n, 2)), rng.integers(0, 2, (n, 3)),
                            images=rng.random((n, 6, 6, 1)).astype("float32"))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        inputs = keras.Input((6, 6, 1))
        features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
        model = RobustMultilabelCRF(keras.Model(inputs, features), 2, 3, num_examples=n,
                                    num_hidden=0, num_chains=3, num_sweeps=2, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # 2 clean + 4 noisy per batch: every 2 steps visit each of the 4 clean and
    # 8 noisy examples exactly once (each set is reshuffled per pass).
    batches = data.mixed_training_batches(split, clean_rows, 6, 2, seed=0)
    history = model.fit(batches, epochs=3, steps_per_epoch=2, verbose=0)
    local = lambda var: [t.numpy().tolist() for t in
                         strategy.experimental_local_results(var.value)]
    print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                      "jit_compile": model.jit_compile,
                      "loss": history.history["loss"],
                      "visits": local(model.chain_bank.visits),
                      "states": local(model.chain_bank.states)}))
""")


def test_fit_under_mirrored_strategy_advances_every_chain_once_per_visit_on_every_replica():
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["jit_compile"] is False  # Keras turns XLA off for MirroredStrategy on CPU.
    assert all(value == value for value in result["loss"])  # finite, not NaN
    # Each example was in 3 batches (one per epoch); every replica's copy counts 3 writes:
    # no write was dropped or duplicated, including those made by the other replica.
    assert result["visits"] == [[3] * 12, [3] * 12]
    # The replicas' copies of the bank are identical (no divergence) and advanced.
    first, second = result["states"]
    assert first == second
    assert any(word != 0 for row in first for chain in row for word in chain)


if __name__ == "__main__":
    pytest.main([__file__])
