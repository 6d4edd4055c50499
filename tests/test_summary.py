"""The noise summary and its script."""

import subprocess
import sys

import numpy as np

import tf_data
from scripts.harness import noise_report as summary


def test_noise_summary_reports_counts_matrix_and_rates():
    dataset = tf_data.load_dataset("digits")
    text, noisy = summary.noise_summary(dataset, "symmetric", 0.2, seed=1, exact=True)
    assert f"Realised noise rate: {noisy.realised_rate:.4f}" in text
    assert "T[i, j] = P(noisy=j | clean=i)" in text
    assert np.all(np.diag(noisy.realised_matrix) > 0.79)


def test_script_runs_end_to_end():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.noise_summary", "--noise=pairflip", "--rate=0.1"],
        capture_output=True, text=True, check=True)
    assert "Realised noise matrix" in result.stdout and result.stderr == ""
