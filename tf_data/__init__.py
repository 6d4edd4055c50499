"""Noisy-label datasets and `tf.data` input pipelines.

Convention: transition matrices are row-stochastic,
`T[i, j] = P(noisy = j | clean = i)`.
"""

from tf_data.backend import require_tensorflow_backend

require_tensorflow_backend("tf_data")

# The imports below come after the backend check on purpose.

from tf_data import augment  # noqa: F401
from tf_data import noise  # noqa: F401
from tf_data import pipelines  # noqa: F401
from tf_data import sources  # noqa: F401
from tf_data import splits  # noqa: F401
from tf_data import validation  # noqa: F401
from tf_data.augment import make_pipeline_augmentation
from tf_data.augment import perturb
from tf_data.coco import load_coco_captions
from tf_data.image_dataset import ImageDataset
from tf_data.label_issues import LabelIssues
from tf_data.label_issues import suggest_for_most_suspicious
from tf_data.multilabel_dataset import MultilabelDataset
from tf_data.multilabel_dataset import MultilabelSplit
from tf_data.mosaics import load_digit_mosaics
from tf_data.noise import NOISE_KINDS
from tf_data.noise import NoisyLabels
from tf_data.noise import NoisyMultilabels
from tf_data.noise import corrupt_labels
from tf_data.noise import corrupt_multilabels
from tf_data.noise import corrupt_within_classes
from tf_data.noise import transition_matrix
from tf_data.pipelines import evaluation_pipeline
from tf_data.pipelines import example_features
from tf_data.pipelines import mixed_pipeline
from tf_data.pipelines import training_pipeline
from tf_data.pipelines import trusted_pipeline
from tf_data.sources import load_dataset
from tf_data.splits import clean_noisy_split
from tf_data.splits import labelled_unlabelled_split
