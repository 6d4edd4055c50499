"""Two-worker `MultiWorkerMirroredStrategy` training on localhost, per model family.

For each family (multiclass CRF with alpha annealing and the class-balance
penalty; multilabel CRF with its chain bank; UMN with its guider, with the
default warm-up and with the warm-up weighted by the held-out view, as it is
and noise-corrected; the
baselines: Keras-compiled cross-entropy, S-1, Mean Teacher and multilabel
cross-entropy) two worker processes with `TF_CONFIG` train together with
`tests/multi_worker_family.py` and a third process trains the same global
batches alone. Checks: every variable (chain bank, visits, guider, alpha,
seed states, optimizer state) is identical on both workers; every variable
and every epoch loss matches the single process within 1e-5 (float sums
taken in another order; measured differences are below 2e-7); the chain
bank counted each visit exactly once. SGD, not Adam, so that a gradient
scaled wrongly across replicas shows.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from multi_worker_family import cluster_configs  # noqa: E402
from multi_worker_family import launch  # noqa: E402
from multi_worker_family import report  # noqa: E402

TOLERANCE = 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("family", ["multiclass_crf", "multilabel_crf", "umn", "baselines"])
def test_two_workers_train_like_one_process_on_the_same_global_batches(family, tmp_path):
    workers = [launch(family, tmp_path / f"worker{i}.npz", config)
               for i, config in enumerate(cluster_configs(2))]
    single = launch(family, tmp_path / "single.npz")
    reports = [report(process, timeout=300) for process in workers]
    alone = report(single, timeout=300)

    assert [r["workers"] for r in reports] == [2, 2] and alone["workers"] == 1
    assert [r["chief"] for r in reports] == [True, False]
    assert reports[0]["loss"] == reports[1]["loss"]
    np.testing.assert_allclose(np.concatenate(reports[0]["loss"]),
                               np.concatenate(alone["loss"]), rtol=TOLERANCE)

    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    reference = np.load(tmp_path / "single.npz")
    assert sorted(first.files) == sorted(second.files) == sorted(reference.files)
    for name in reference.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
        if reference[name].dtype.kind in "iub":
            np.testing.assert_array_equal(first[name], reference[name], err_msg=name)
        else:
            np.testing.assert_allclose(first[name], reference[name], atol=TOLERANCE,
                                       rtol=TOLERANCE, err_msg=name)

    if family == "multilabel_crf":
        visits = first["watched/chain_visits/0"]
        # 3 epochs x 8 steps x 8 examples per global batch, each written once.
        assert visits.sum() == 3 * 8 * 8
        assert np.any(first["watched/chain_states/0"] != 0)
    if family == "multiclass_crf":
        assert float(first["watched/alpha/0"]) == float(reference["watched/alpha/0"])
    if family == "umn":
        assert any(np.any(w != 0) for name, w in first.items() if name.startswith("watched/guider"))


if __name__ == "__main__":
    pytest.main([__file__])
