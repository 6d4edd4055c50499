"""Robust CRF (Vahdat 2017) for training on noisily labelled data, in Keras 3.

Multiclass part (the paper's Section 4.3 / Table 2 variant): the analytic
CRF layer, the model that puts it on any backbone, the auxiliary
distribution, Patrini et al.'s loss corrections and transition estimator.

Multilabel part (Sections 3 and 4.1-4.2 / Table 1): `robustcrf.multilabel`,
the CNN-CRF with hidden units trained by persistent contrastive divergence,
its auxiliary RBM, Gibbs sampler and chain bank.
"""

from tf_data.backend import require_tensorflow_backend

require_tensorflow_backend("robustcrf")

# The imports below come after the backend check on purpose.

from robustcrf.alpha_annealing import AlphaAnnealing
from robustcrf.auxiliary import AuxiliaryPosterior
from robustcrf.auxiliary import estimate_clean_prior
from robustcrf.backbones import build_backbone
from robustcrf.crf_layer import MulticlassCRF
from robustcrf.label_issue_finder import find_label_issues
from robustcrf.label_issue_report import LabelIssueReport
from robustcrf.learning_to_reweight import LearningToReweight
from robustcrf.losses import BackwardCorrectedCrossEntropy
from robustcrf.mentor_data import MentorDataRecorder
from robustcrf.mentor_net import MentorNet
from robustcrf.mentored_model import MentoredModel
from robustcrf.losses import CrossEntropy
from robustcrf.losses import ForwardCorrectedCrossEntropy
from robustcrf.robust_model import RobustCRFModel
from robustcrf.robust_model import add_logits_head
from robustcrf.transition_estimation import clean_class_probabilities
from robustcrf.transition_estimation import clean_label_posterior
from robustcrf.transition_estimation import confident_joint
from robustcrf.transition_estimation import confident_transition_matrix
from robustcrf.transition_estimation import estimate_transition_matrix
from robustcrf.transition_estimation import estimated_wrong_count
from robustcrf.transition_estimation import estimated_wrong_shares
from robustcrf import multilabel

__all__ = [
    "AlphaAnnealing",
    "AuxiliaryPosterior",
    "BackwardCorrectedCrossEntropy",
    "CrossEntropy",
    "ForwardCorrectedCrossEntropy",
    "LabelIssueReport",
    "LearningToReweight",
    "MentorDataRecorder",
    "MentorNet",
    "MentoredModel",
    "MulticlassCRF",
    "RobustCRFModel",
    "add_logits_head",
    "build_backbone",
    "clean_class_probabilities",
    "clean_label_posterior",
    "confident_joint",
    "confident_transition_matrix",
    "estimate_clean_prior",
    "estimate_transition_matrix",
    "estimated_wrong_count",
    "estimated_wrong_shares",
    "find_label_issues",
    "multilabel",
]
