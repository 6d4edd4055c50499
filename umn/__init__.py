"""Uncertainty Mining Net (ICLR 2020 submission) and its baselines in Keras 3.

Import order matters: `tf_data.environment` first, so TensorFlow starts
quietly with the Keras backend set.
"""

from tf_data import environment  # noqa: F401  (first: quiet TF import)
from umn import losses  # noqa: F401
from umn import streams  # noqa: F401
from umn.guider import Guider
from umn.mean_teacher import MeanTeacher
from umn.model import UncertaintyMiningNet
from umn.supervised import SupervisedClassifier
from umn.vae import StackedVae
from umn.export import export_guider
from umn.streams import labelled_stream
from umn.streams import semi_supervised_stream

__all__ = [
    "Guider", "MeanTeacher", "StackedVae", "SupervisedClassifier", "UncertaintyMiningNet",
    "export_guider", "labelled_stream", "losses", "semi_supervised_stream", "streams",
]
