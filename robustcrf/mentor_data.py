"""`MentorDataRecorder`: the training set of a data-driven MentorNet.

The paper's protocol (Jiang et al. 2018, Section 3.2): train a StudentNet
on data whose label correctness is known (a small clean subset, part of
its labels corrupted on purpose), record after every epoch each example's
loss, its loss minus the moving percentile `lambda`, its label and the
training progress, and teach the MentorNet to predict from them whether the
label is correct.
"""

import keras
import numpy as np

from robustcrf import curriculum
from robustcrf.mentor_net import EPOCH_FRACTION
from robustcrf.mentor_net import LABEL
from robustcrf.mentor_net import LOSS
from robustcrf.mentor_net import LOSS_DIFF
from tf_data import validation
from tf_data.keras_contract import predict_probabilities


class MentorDataRecorder(keras.callbacks.Callback):
    """Records MentorNet features of fixed examples after every epoch of a student's `fit`.

    Args:
        x: `(n, ...)` inputs of the examples to record (e.g. a clean subset).
        labels: `(n,)` the labels the student trains on (some corrupted on purpose).
        is_correct: `(n,)` bool, whether each label is the clean one (the target).
        percentile: the loss percentile `lambda` stands for, when the student
            is not a `robustcrf.MentoredModel` (which keeps its own).
        batch_size: examples per prediction batch.

    Example:

    >>> recorder = MentorDataRecorder(x_clean, planted, planted == y_clean)
    >>> student.fit(x_clean, planted, epochs=20, callbacks=[recorder])
    >>> features, targets = recorder.dataset()
    >>> mentor.fit(features, targets, epochs=10)
    """

    def __init__(self, x, labels, is_correct, percentile=curriculum.DEFAULT_PERCENTILE,
                 batch_size=256):
        super().__init__()
        self.x = validation.check_inputs(x, "x")
        self.labels = np.asarray(labels).reshape(-1)
        self.is_correct = np.asarray(is_correct, dtype=bool).reshape(-1)
        validation.check_same_length(x=self.x, labels=self.labels, is_correct=self.is_correct)
        self.percentile = curriculum.check_percentile(percentile)
        self.batch_size = batch_size
        self.records = []

    def on_epoch_end(self, epoch, logs=None):
        probabilities = predict_probabilities(self.model, self.x, batch_size=self.batch_size)
        labels = validation.check_labels(self.labels, probabilities.shape[1], "labels")
        losses = curriculum.given_label_losses(probabilities, labels)
        threshold = getattr(self.model, "loss_threshold", None)
        threshold = (float(threshold.numpy()) if threshold is not None
                     else float(np.percentile(losses, self.percentile)))
        epochs = max(int(self.params.get("epochs") or 1), 1)
        self.records.append({
            LOSS: losses.astype(np.float32), LOSS_DIFF: (losses - threshold).astype(np.float32),
            LABEL: labels, EPOCH_FRACTION: np.full(len(labels), epoch / epochs, np.float32)})

    def dataset(self):
        """`(features, targets)`: every recorded epoch's features and `is_correct` as 0/1.

        Raises:
            ValueError: nothing was recorded (pass the recorder to `fit`).
        """
        if not self.records:
            raise ValueError("Nothing recorded: pass the recorder to the student's fit "
                             "(callbacks=[recorder]) first.")
        features = {key: np.concatenate([record[key] for record in self.records])
                    for key in self.records[0]}
        targets = np.tile(self.is_correct.astype(np.float32), len(self.records))
        return features, targets
