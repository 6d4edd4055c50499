"""Uncertainty Mining Net (ICLR 2020 submission) and its baselines in Keras 3.

Needs the Keras TensorFlow backend; imports in any order.
"""

from tf_data.backend import require_tensorflow_backend

require_tensorflow_backend("umn")

# The imports below come after the backend check on purpose.

from umn import cross_fitted  # noqa: F401
from umn import label_spreading  # noqa: F401
from umn import losses  # noqa: F401
from umn import noise_rate  # noqa: F401
from umn import partial_labels  # noqa: F401
from umn import streams  # noqa: F401
from umn.guider import Guider
from umn.label_spreading import held_out_label_posterior
from umn.m1_warmup import M1Warmup
from umn.mean_teacher import MeanTeacher
from umn.model import UncertaintyMiningNet
from umn.noise_rate import NoiseRateEstimate
from umn.noise_rate import estimate_noise_rate
from umn.supervised import SupervisedClassifier
from umn.uncertainty_warmup import UncertaintyWarmup
from umn.vae import StackedVae
from umn.streams import labelled_stream
from umn.streams import semi_supervised_stream

__all__ = [
    "Guider", "M1Warmup", "MeanTeacher", "NoiseRateEstimate", "StackedVae", "SupervisedClassifier",
    "UncertaintyMiningNet", "UncertaintyWarmup",
    "cross_fitted", "estimate_noise_rate", "held_out_label_posterior", "label_spreading",
    "labelled_stream", "losses", "noise_rate", "partial_labels", "semi_supervised_stream",
    "streams",
]
