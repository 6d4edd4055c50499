"""tf_data.distribute: strategy names, TF_CONFIG checks and who writes (the chief)."""

import pytest

from tf_data import distribute


def test_unknown_strategy_names_the_choices():
    with pytest.raises(ValueError, match="none, mirrored, multi_worker"):
        distribute.make_strategy("tpu")


def test_no_strategy_is_one_chief_process():
    assert distribute.make_strategy("none") is None
    assert distribute.is_chief(None) and distribute.worker_count(None) == 1
    with distribute.strategy_scope(None):
        pass


@pytest.mark.parametrize("value, message", [
    (None, "TF_CONFIG environment variable, which is not set"),
    ("{not json", "TF_CONFIG is not valid"),
    ('{"cluster": {"worker": ["localhost:1"]}}', "TF_CONFIG is not valid"),
])
def test_multi_worker_without_a_valid_tf_config_says_what_to_set(monkeypatch, value, message):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError, match=message):
        distribute.make_strategy("multi_worker")


class _Resolver:
    def __init__(self, task_type, task_id, cluster):
        self.task_type, self.task_id, self._cluster = task_type, task_id, cluster

    def cluster_spec(self):
        class Spec:
            def __init__(self, cluster):
                self.cluster = cluster

            def as_dict(self):
                return self.cluster
        return Spec(self._cluster)


class _Strategy:
    def __init__(self, resolver):
        self.cluster_resolver = resolver


@pytest.mark.parametrize("task_type, task_id, cluster, chief", [
    ("worker", 0, {"worker": ["a", "b"]}, True),
    ("worker", 1, {"worker": ["a", "b"]}, False),
    ("chief", 0, {"chief": ["c"], "worker": ["a"]}, True),
    ("worker", 0, {"chief": ["c"], "worker": ["a"]}, False),
])
def test_the_chief_is_worker_zero_unless_the_cluster_names_one(task_type, task_id, cluster, chief):
    assert distribute.is_chief(_Strategy(_Resolver(task_type, task_id, cluster))) is chief


def test_replica_helpers_are_the_single_process_operations_without_a_strategy():
    import keras
    import numpy as np

    values = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    weights = np.array([1.0, 0.0, 2.0, 1.0], "float32")
    share = keras.ops.convert_to_numpy(distribute.replica_mean_share(values, weights))
    np.testing.assert_allclose(share, np.average(values, weights=weights), rtol=1e-6)
    assert float(distribute.replica_mean_share(values, np.zeros(4, "float32"))) == 0.0
    assert float(distribute.replica_mean_share(values)) == 2.5
    assert distribute.num_replicas() == 1
    assert float(distribute.replica_share(keras.ops.convert_to_tensor(3.0))) == 3.0
    assert float(distribute.global_value(keras.ops.convert_to_tensor(3.0))) == 3.0
    drawn = distribute.global_batch_draw(keras.random.normal, (3, 2),
                                         seed=keras.random.SeedGenerator(7))
    expected = keras.random.normal((3, 2), seed=keras.random.SeedGenerator(7))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(drawn),
                                  keras.ops.convert_to_numpy(expected))


def test_batch_normalization_synchronises_only_when_built_in_a_strategy_scope():
    import tensorflow as tf

    assert distribute.batch_normalization(momentum=0.9).synchronized is False
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert distribute.batch_normalization().synchronized is True


def test_enable_distributed_fit_replaces_the_two_keras_functions_once():
    from keras.src.backend.tensorflow import trainer

    assert distribute.enable_distributed_fit() is True
    patched = trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build
    assert distribute.enable_distributed_fit() is True
    assert (trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build) == patched
    assert patched[0] is not distribute._KERAS_FIXES["reduce_per_replica"]
