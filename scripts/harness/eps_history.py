"""A callback that records eps of every labelled example after each epoch."""

import keras
import numpy as np


class EpsHistory(keras.callbacks.Callback):
    """Records `model.label_uncertainty(images, labels)` at every epoch end.

    The per-epoch record is what Figure 4b plots and Table 3 reads (its last
    entry is "the final epoch's eps").

    Args:
        images: `(n, H, W, K)` labelled images.
        labels: `(n,)` their observed labels.
        held_out_disbelief: optional `(n,)` held-out disbelief of the labels
            that training read (`uncertainty="with_held_out"`; see
            `UncertaintyMiningNet.label_uncertainty`).

    Example:

    >>> history = EpsHistory(x_labelled, y_labelled)
    >>> model.fit(stream, epochs=5, steps_per_epoch=10, callbacks=[history])
    >>> len(history.eps_per_epoch)
    5
    """

    def __init__(self, images, labels, held_out_disbelief=None):
        super().__init__()
        self.images = np.asarray(images, dtype=np.float32)
        self.labels = np.asarray(labels)
        self.held_out_disbelief = held_out_disbelief
        self.eps_per_epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.eps_per_epoch.append(self.model.label_uncertainty(
            self.images, self.labels, held_out_disbelief=self.held_out_disbelief))

    def get_state(self):
        """The record so far, for `TrainingBackup` (float32 values round-trip exactly)."""
        return [np.asarray(eps).tolist() for eps in self.eps_per_epoch]

    def set_state(self, state):
        self.eps_per_epoch = [np.asarray(eps, dtype=np.float32) for eps in state]
