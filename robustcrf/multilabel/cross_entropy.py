"""The cross-entropy baselines of Table 1 (upper bound and noisy-label training)."""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf.multilabel.energy import check_size
from robustcrf.multilabel import evaluation
from robustcrf.multilabel.metrics import MeanAveragePrecision
from robustcrf.multilabel.model import build_heads
from tf_data import validation
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.distribute import global_value
from tf_data.distribute import replica_mean_share
from tf_data.distribute import replica_share
from tf_data.label_issues import issues_from_probabilities


def noisy_or(probabilities, mapping):
    """`p(category) = 1 - prod_{k mapped to it} (1 - p_k)`, `(B, C)`.

    A category counts as present when any of its noisy labels is
    (independently) present; a category with no mapped label scores 0.

    Args:
        probabilities: `(B, K)` noisy-label probabilities.
        mapping: `(C, K)` {0, 1}.
    """
    log_absent = ops.log(ops.maximum(1.0 - probabilities, 1e-7))
    return 1.0 - ops.exp(ops.matmul(log_absent, ops.transpose(ops.cast(mapping, "float32"))))


@keras.saving.register_keras_serializable(package="robustcrf")
class CrossEntropyMultilabel(evaluation.CheckedLabels, keras.Model):
    """A backbone with a linear head trained by sigmoid cross-entropy.

    Table 1's "cross entropy loss w/ clean" (targets: clean labels of every
    training example, the upper bound) and "w/ noisy" (targets: noisy
    labels; predictions mapped to clean categories by `output_to_clean`
    with a noisy-or, Misra et al.'s manual mapping in the paper).

    Args:
        backbone: a Keras model mapping images to features.
        num_outputs: K, labels trained on (C or N).
        output_to_clean: optional `(C, K)` {0, 1} mapping from clean
            categories to trained labels; None when training on clean labels.

    Call arguments:
        images: `(B, H, W, ch)`.
        training: forwarded to the backbone.

    Returns:
        `(B, C)` clean-category probabilities.

    Example:

    >>> model = CrossEntropyMultilabel(backbone, 35, output_to_clean=mapping)
    >>> model.compile(optimizer="adam")
    >>> model.fit(batches_with_noisy_label, epochs=10)
    """

    def __init__(self, backbone, num_outputs, output_to_clean=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.backbone = backbone
        self.num_outputs = check_size(num_outputs, "num_outputs")
        self.output_to_clean = None
        if output_to_clean is not None:
            self.output_to_clean = validation.check_binary_labels(
                output_to_clean, num_outputs, "output_to_clean")
        self.head = keras.layers.Dense(num_outputs, name="head")
        self.num_clean = (self.num_outputs if self.output_to_clean is None
                          else int(self.output_to_clean.shape[0]))
        self.map_metric = MeanAveragePrecision(self.num_clean, name=evaluation.MAP_NAME)
        build_heads(self.backbone, (self.head,))
        self.built = self.head.built

    def build(self, input_shape):
        build_heads(self.backbone, (self.head,), input_shape)
        self.built = True

    def logits(self, images, training=False):
        """`(B, K)` logits of the trained labels."""
        return self.head(self.backbone(images, training=training))

    def call(self, images, training=False):
        probabilities = ops.sigmoid(self.logits(images, training=training))
        if self.output_to_clean is None:
            return probabilities
        return noisy_or(probabilities, self.output_to_clean)

    def train_step(self, data):
        targets = ops.cast(data[LABEL_KEY], "float32")
        if targets.shape[-1] != self.num_outputs:
            raise ValueError(
                f"Batches carry {targets.shape[-1]} labels but the model has "
                f"{self.num_outputs} outputs; the vocabulary sizes must match.")
        with tf.GradientTape() as tape:
            logits = self.logits(data[IMAGE_KEY], training=True)
            loss = replica_mean_share(
                keras.losses.binary_crossentropy(targets, logits, from_logits=True))
            if self.losses:
                loss = loss + replica_share(ops.sum(self.losses))
        variables = self.trainable_weights
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        # The compiled metrics see the trained targets and their probabilities.
        return evaluation.training_logs(self, data[IMAGE_KEY], targets, ops.sigmoid(logits),
                                        None, global_value(loss))

    def test_step(self, data):
        """Clean labels against `p(y_hat | x)`: loss, `map`, compiled metrics."""
        return evaluation.evaluation_step(self, data)

    def label_issues(self, x, y, batch_size=256):
        """Ranks examples by how likely one of their given labels is wrong.

        Suggested labels are `p(y_hat = 1 | x) > 0.5` and the score
        `max_k |y_k - p_k|`; needs predictions over the given labels'
        vocabulary (no `output_to_clean` mapping, or N = C).

        Args:
            x: `(n, ...)` inputs.
            y: `(n, C)` given multi-hot labels.
            batch_size: examples per forward pass.

        Returns:
            A `tf_data.LabelIssues`, most suspicious first.
        """
        labels = validation.check_binary_labels(y, self.num_clean, "y")
        probabilities = self.predict(np.asarray(x), batch_size=batch_size, verbose=0)
        return issues_from_probabilities(probabilities, labels)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes a SavedModel whose `serve(x)` returns `p(y_hat = 1 | x)` over clean labels."""
        return evaluation.export(self, filepath, format=format, verbose=verbose,
                                 input_signature=input_signature, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            backbone=keras.saving.serialize_keras_object(self.backbone),
            num_outputs=self.num_outputs,
            output_to_clean=(None if self.output_to_clean is None
                             else np.asarray(self.output_to_clean).tolist()))
        return config
