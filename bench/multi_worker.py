"""Steps per second of one process against two `MultiWorkerMirroredStrategy` workers.

For the multiclass robust CRF (small CNN, 28x28 images) and UMN (MLP M1+M2,
hidden 500, z 50), the same global batch is trained by one process without
a strategy and by two worker processes on localhost (`TF_CONFIG`, gRPC
collectives), each running `tests/multi_worker_family.py`. Steps per
second count the epochs after the first (tracing and the first collective
set-up excluded). The ratio two workers / one process is the speed-up; on
one machine the two workers share its cores, so it measures the cost of the
collectives rather than a gain (a gain needs one machine per worker). Then
the time to save and restore a `TrainingBackup` at COCO scale (chain bank
126 MB), from `bench/backup.py`.

    python -m bench.multi_worker                   # global batch 128, 8 epochs
    python -m bench.multi_worker --preset=smoke    # seconds
"""

import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The worker program is shared with tests/test_multi_worker.py.
sys.path.insert(0, os.path.join(ROOT, "tests"))

from multi_worker_family import cluster_configs  # noqa: E402
from multi_worker_family import launch  # noqa: E402
from multi_worker_family import report  # noqa: E402

PRESETS = {
    "default": dict(size=128, epochs=8, backup="coco"),
    "smoke": dict(size=16, epochs=3, backup="smoke"),
}
LEARNING_RATES = {"multiclass_crf": 0.01, "umn": 0.001}
flags.DEFINE_enum("preset", "default", list(PRESETS), "default: the figures in the README.")
flags.DEFINE_list("families", list(LEARNING_RATES), "Model families to time.")
FLAGS = flags.FLAGS


def steps_per_second(result):
    """Steps per second over the epochs after the first, from one process's report."""
    timing = result["timing"][0]
    seconds = sum(timing["epoch_seconds"][1:])
    return timing["steps_per_epoch"] * (len(timing["epoch_seconds"]) - 1) / seconds


def time_family(family, size, epochs, directory):
    """`(single, two_workers)` steps per second on global batches of `size`."""
    flags = dict(size=size, epochs=epochs, scale="bench",
                 learning_rate=LEARNING_RATES[family])
    single = report(launch(family, os.path.join(directory, "single.npz"), **flags))
    workers = [launch(family, os.path.join(directory, f"worker{i}.npz"), config, **flags)
               for i, config in enumerate(cluster_configs(2))]
    reports = [report(process) for process in workers]
    return steps_per_second(single), min(steps_per_second(r) for r in reports)


def main(argv):
    del argv
    preset = PRESETS[FLAGS.preset]
    print(f"Global batch {preset['size']}, {preset['epochs']} epochs, "
          f"{os.cpu_count()} CPU cores shared by the workers")
    print(f"{'family':16s} {'1 process':>12s} {'2 workers':>12s} {'ratio':>7s}")
    for family in FLAGS.families:
        with tempfile.TemporaryDirectory() as directory:
            one, two = time_family(family, preset["size"], preset["epochs"], directory)
        print(f"{family:16s} {one:9.1f} st/s {two:9.1f} st/s {two / one:6.2f}x")
    subprocess.run([sys.executable, "-m", "bench.backup", f"--preset={preset['backup']}"],
                   cwd=ROOT, check=True)


if __name__ == "__main__":
    app.run(main)
