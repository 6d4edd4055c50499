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
