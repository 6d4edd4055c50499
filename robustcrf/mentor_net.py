"""`MentorNet`: the data-driven curriculum of Jiang et al. (2018), a small network.

MentorNet (Section 3.2) maps what the StudentNet knows about an example to
its weight in `[0, 1]`: the example's loss, the loss minus the moving
percentile `lambda`, its given label and the training progress. It is
learned on data whose label correctness is known (a clean subset with
labels corrupted on purpose, as in the paper's protocol) to predict whether
a label is correct, then weights the StudentNet's examples
(`robustcrf.MentoredModel(..., mentor=mentor)`).

Simplification, stated: the paper feeds the loss *history* of an example
through a bidirectional LSTM; here the current loss and its difference to
`lambda` enter a small MLP with the label and epoch embeddings (its Fig. 3
without the LSTM).
"""

import keras
from keras import ops

from tf_data.classification import checked_class_labels

LOSS = "loss"
LOSS_DIFF = "loss_diff"
LABEL = "label"
EPOCH_FRACTION = "epoch_fraction"
FEATURES = (LOSS, LOSS_DIFF, LABEL, EPOCH_FRACTION)
EPOCH_BUCKETS = 100


@keras.saving.register_keras_serializable(package="robustcrf")
class MentorNet(keras.Model):
    """Predicts the weight of an example (the probability its label is correct).

    Args:
        num_classes: C, for the label embedding.
        hidden_units: width of the hidden layer.
        label_embedding_dim: size of the label embedding (paper: 2).
        epoch_embedding_dim: size of the epoch embedding over 100 buckets of
            training progress (paper: 5).
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: a dict of `(B,)` tensors: `loss`, `loss_diff` (loss minus the
            moving percentile), `label` (int) and `epoch_fraction` (share of
            training done, in [0, 1]).

    Returns:
        `(B,)` weights in (0, 1).

    Example:

    >>> mentor = MentorNet(num_classes=10)
    >>> mentor.compile(optimizer="adam", loss="binary_crossentropy")
    >>> mentor.fit(features, label_is_correct, epochs=20)
    >>> student = MentoredModel(backbone, mentor=mentor, burn_in_epochs=5)
    """

    def __init__(self, num_classes, hidden_units=32, label_embedding_dim=2,
                 epoch_embedding_dim=5, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.hidden_units = int(hidden_units)
        self.label_embedding_dim = int(label_embedding_dim)
        self.epoch_embedding_dim = int(epoch_embedding_dim)
        self.label_embedding = keras.layers.Embedding(self.num_classes, self.label_embedding_dim,
                                                      name="label_embedding")
        self.epoch_embedding = keras.layers.Embedding(EPOCH_BUCKETS, self.epoch_embedding_dim,
                                                      name="epoch_embedding")
        self.hidden = keras.layers.Dense(self.hidden_units, activation="tanh", name="hidden")
        self.weight_head = keras.layers.Dense(1, activation="sigmoid", name="weight")

    def call(self, inputs):
        missing = [key for key in FEATURES if key not in inputs]
        if missing:
            raise ValueError(f"MentorNet inputs need keys {FEATURES}; missing {missing}.")
        labels = checked_class_labels(ops.reshape(ops.cast(inputs[LABEL], "int32"), (-1,)),
                                      self.num_classes)
        progress = ops.clip(ops.reshape(ops.cast(inputs[EPOCH_FRACTION], "float32"), (-1,)),
                            0.0, 1.0)
        bucket = ops.minimum(ops.cast(progress * EPOCH_BUCKETS, "int32"), EPOCH_BUCKETS - 1)
        losses = ops.stack([ops.reshape(ops.cast(inputs[key], "float32"), (-1,))
                            for key in (LOSS, LOSS_DIFF)], axis=1)
        features = ops.concatenate([losses, self.label_embedding(labels),
                                    self.epoch_embedding(bucket)], axis=1)
        return ops.squeeze(self.weight_head(self.hidden(features)), axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "hidden_units": self.hidden_units,
                       "label_embedding_dim": self.label_embedding_dim,
                       "epoch_embedding_dim": self.epoch_embedding_dim})
        return config
