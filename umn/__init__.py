"""Uncertainty Mining Net (ICLR 2020 submission) and its baselines in Keras 3.

Import order matters: `tf_data.environment` first, so TensorFlow starts
quietly with the Keras backend set.
"""

from tf_data import environment  # noqa: F401  (first: quiet TF import)
from umn import losses
from umn.guider import Guider
from umn.mean_teacher import MeanTeacher
from umn.model import UncertaintyMiningNet
from umn.supervised import SupervisedClassifier
from umn.vae import StackedVae
from umn.export import export_guider
