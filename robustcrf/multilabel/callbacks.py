"""Per-epoch mAP of the variational posterior `q` on the noisy training set (Section 4.2)."""

import tensorflow as tf
import keras
import numpy as np

from robustcrf.multilabel.metrics import mean_average_precision
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY


LOG_KEY = "q_map_noisy_train"


class PosteriorMAPCallback(keras.callbacks.Callback):
    """Logs the mAP of `q(y_hat | y, x)` (Eq. 10) against the hidden clean labels.

    The paper reports it at the start and end of training (49.4% -> 69.4%
    on COCO): how well the model cleans the noisy training labels. The
    clean labels here are for evaluation only; training never sees them.
    The value before the first epoch (after `AlphaAnnealing` has set
    `alpha`, if that callback comes first) is kept in `start`, each
    epoch's in `history` and in the logs under `q_map_noisy_train`.

    Args:
        batches: ordered dict batches of the noisy set with `image` and
            `label` (noisy labels), e.g. `data.ordered_batches`.
        clean_labels: `(n, C)` clean labels of the same examples, in order.

    Example:

    >>> callback = PosteriorMAPCallback(noisy_set_batches, clean_labels[noisy_rows])
    >>> model.fit(..., callbacks=[AlphaAnnealing(40, 5, 11), callback])
    """

    def __init__(self, batches, clean_labels):
        super().__init__()
        self.batches = batches
        self.clean_labels = np.asarray(clean_labels)
        self.start = None
        self.history = []
        self._posterior = None

    def evaluate(self):
        """mAP of `q` on the batches now."""
        if self._posterior is None:
            # `posterior_clean` has no tensor-dependent Python control flow, so
            # it is traced as written: without AutoGraph's conversion cache,
            # which once (in a full test run on two busy cores) handed this
            # function the converted code of `posterior_logits`.
            self._posterior = (self.model.posterior_clean if self.model.run_eagerly
                               else tf.function(self.model.posterior_clean, autograph=False))
        scores = [keras.ops.convert_to_numpy(self._posterior(b[IMAGE_KEY], b[LABEL_KEY]))
                  for b in self.batches]
        return mean_average_precision(self.clean_labels, np.concatenate(scores))

    def on_epoch_begin(self, epoch, logs=None):
        if self.start is None:
            self.start = self.evaluate()

    def on_epoch_end(self, epoch, logs=None):
        value = self.evaluate()
        self.history.append(value)
        if logs is not None:
            logs[LOG_KEY] = value

    def get_state(self):
        """`start` and `history`, for `tf_data.training_backup.TrainingBackup`."""
        return {"start": self.start, "history": list(self.history)}

    def set_state(self, state):
        self.start = state["start"]
        self.history = list(state["history"])
