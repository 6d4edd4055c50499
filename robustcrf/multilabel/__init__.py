"""The robust CRF for multilabel data (Vahdat 2017, Sections 3 and 4.1-4.2).

Clean labels `y_hat`, noisy labels `y` and hidden units `h` in one CRF on
top of a CNN (`RobustMultilabelCRF`), an auxiliary RBM that guides the
inference of the latent clean labels (`AuxiliaryRBM`), and training by
persistent contrastive divergence with a bank of chains per training
example (`ChainBank`, `BlockGibbsSampler`). `scripts/robustcrf_table1.py`
reproduces Table 1.
"""

from robustcrf.multilabel.auxiliary import AuxiliaryRBM
from robustcrf.multilabel.auxiliary import train_auxiliary_rbm
from robustcrf.multilabel.callbacks import PosteriorMAPCallback
from robustcrf.multilabel.chain_bank import ChainBank
from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel
from robustcrf.multilabel.energy import CRFEnergy
from robustcrf.multilabel.gibbs import BlockGibbsSampler
from robustcrf.multilabel.metrics import average_precision_per_category
from robustcrf.multilabel.metrics import mean_average_precision
from robustcrf.multilabel.model import RobustMultilabelCRF

__all__ = [
    "AuxiliaryRBM",
    "BlockGibbsSampler",
    "CRFEnergy",
    "ChainBank",
    "CrossEntropyMultilabel",
    "FactorialConditionals",
    "PosteriorMAPCallback",
    "RobustMultilabelCRF",
    "average_precision_per_category",
    "mean_average_precision",
    "train_auxiliary_rbm",
]
