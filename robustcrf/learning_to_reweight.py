"""`LearningToReweight`: Ren et al. (2018), example weights from a small clean set.

Ren, Zeng, Yang and Urtasun, "Learning to Reweight Examples for Robust Deep
Learning", ICML 2018, Algorithm 1. Every step takes a noisy batch and a
batch of the small trusted (clean) set:

1. give every noisy example a weight `eps_i = 0` and take a virtual SGD
   step on `sum_i eps_i l_i(theta)`: `theta'(eps) = theta - a * sum_i eps_i
   grad l_i(theta)`;
2. the meta-gradient `g_i = d L_clean(theta'(eps)) / d eps_i` at `eps = 0`;
3. `w_i = max(-g_i, 0)`, normalised by their sum (all zero stays zero);
4. the real step on `sum_i w_i l_i(theta)`.

At `eps = 0` the virtual step moves nothing (`theta' = theta`), so the chain
rule gives the meta-gradient in closed form (the paper derives the same
form for its fast implementation):
`g_i = -a * grad l_i(theta) . grad L_clean(theta)`: an example is kept,
with a weight proportional to it, when its gradient agrees with the clean
set's. The virtual learning rate `a > 0` scales every `g_i` alike and
cancels in the normalisation, so it is not a setting here.

Two ways to compute it (`meta_gradient=`):

* `"first_order"` (default): the identity above, with one backward pass on
  the clean batch for `grad L_clean` and one forward-mode pass
  (`tf.autodiff.ForwardAccumulator`) that gives every noisy example's
  directional derivative `grad l_i . grad L_clean` at once: three passes
  per step with the real one.
* `"nested"`: Algorithm 1 literally, nested tapes through the virtual step
  (`stateless_call` with the stepped weights); a check of the identity
  (`tests/test_learning_to_reweight.py` compares the two) and a template
  for variants that step from `eps != 0`.

The meta passes run the backbone in training mode (BatchNorm uses batch
statistics, as in the authors' code) but their moving-statistics updates
are discarded: only the real step updates the backbone's state.
"""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf.backbone_model import BackboneModel
from tf_data.batch_keys import CLEAN_IMAGE_KEY
from tf_data.batch_keys import CLEAN_LABEL_KEY
from tf_data.classification import cross_entropy_from_logits
from tf_data.distribute import replica_mean_share
from tf_data.distribute import replica_share
from tf_data.distribute import replica_sum
from tf_data import validation
from tf_data.keras_contract import predict_probabilities
from tf_data.label_issues import rank_label_issues

META_GRADIENTS = ("first_order", "nested")


def normalised_weights(meta_gradient):
    """Ren et al.'s weights from meta-gradients: `max(-g, 0)` over their sum.

    The sum runs over the global batch under a `tf.distribute` strategy; a
    batch whose every weight is 0 keeps them all 0 (no step).

    Args:
        meta_gradient: `(B,)` `d L_clean / d eps_i` at `eps = 0`.

    Returns:
        `(B,)` non-negative weights summing to 1 over the global batch, or all 0.
    """
    positive = ops.maximum(-ops.cast(meta_gradient, "float32"), 0.0)
    total = replica_sum(ops.sum(positive))
    return ops.where(total > 0.0, positive / ops.maximum(total, 1e-30), 0.0)


@keras.saving.register_keras_serializable(package="robustcrf")
class LearningToReweight(BackboneModel):
    """A backbone trained on noisy labels with Learning to Reweight (Ren et al. 2018).

    Implements Algorithm 1: each noisy example's weight is the
    clipped, normalised negative meta-gradient of the clean-batch loss
    after a virtual SGD step; the real step minimises the weighted noisy
    loss. See the module docstring for the two ways the meta-gradient is
    computed.

    Training data: dict batches with `image`, `label` (the noisy batch) and
    `clean_image`, `clean_label` (a batch of the small trusted set), as
    `tf_data.pipelines.trusted_pipeline` builds them. `evaluate` takes
    `(x, y)` or dict batches without the clean keys.

    Args:
        backbone: a Keras model mapping images to C logits.
        meta_gradient: `"first_order"` (default) or `"nested"`.
        **kwargs: `keras.Model` arguments (`name`).

    Call arguments:
        inputs: images `(B, ...)`, or a dict with key `image`.
        training: whether the backbone runs in training mode.

    Returns:
        Class probabilities `softmax(backbone(x))`, `(B, C)` (also what
        `predict` and the exported `serve` return).

    Example:

    >>> stream = tf_data.pipelines.trusted_pipeline(
    ...     tf_data.example_features(x_noisy, y_noisy), x_clean, y_clean,
    ...     batch_size=64, clean_batch_size=64, seed=0, num_classes=10)
    >>> model = LearningToReweight(add_logits_head(small_cnn((28, 28, 1)), 10))
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    >>> model.fit(stream, epochs=30)
    >>> weights = model.example_weights(x_batch, y_batch, x_clean, y_clean)
    """

    def __init__(self, backbone, meta_gradient="first_order", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(backbone, keras.layers.Layer):
            raise ValueError(
                f"backbone must be a Keras model/layer, got {type(backbone).__name__}.")
        if meta_gradient not in META_GRADIENTS:
            raise ValueError(
                f"meta_gradient must be one of {META_GRADIENTS}, got {meta_gradient!r}.")
        self.backbone = backbone
        self.meta_gradient = meta_gradient
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.kept_tracker = keras.metrics.Mean(name="kept_share")

    # ------------------------------------------------------------------ maths
    def _logits(self, images, variables):
        """Training-mode logits of a stateless call with `variables = (trainable,
        non_trainable)` values; the call's state updates are dropped."""
        logits, _ = self.backbone.stateless_call(variables[0], variables[1], images,
                                                 training=True)
        return ops.cast(logits, "float32")

    def _state(self):
        """The backbone's variables as tensors (the primals of the meta passes)."""
        return ([tf.convert_to_tensor(v) for v in self.backbone.trainable_variables],
                [tf.convert_to_tensor(v) for v in self.backbone.non_trainable_variables])

    def _first_order_meta_gradient(self, images, labels, clean_images, clean_labels):
        trainable, non_trainable = self._state()
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            clean_loss = replica_mean_share(cross_entropy_from_logits(
                clean_labels, self._logits(clean_images, (trainable, non_trainable))))
        # The gradient of the clean loss over the global clean batch.
        clean_gradient = [replica_sum(g) for g in tape.gradient(clean_loss, trainable)]
        with tf.autodiff.ForwardAccumulator(trainable, clean_gradient) as accumulator:
            losses = cross_entropy_from_logits(
                labels, self._logits(images, (trainable, non_trainable)))
        # d L_clean(theta') / d eps_i = -grad l_i . grad L_clean (virtual rate 1).
        return -accumulator.jvp(losses)

    def _nested_meta_gradient(self, images, labels, clean_images, clean_labels):
        trainable, non_trainable = self._state()
        eps = ops.zeros((ops.shape(labels)[0],), "float32")
        with tf.GradientTape() as outer:
            outer.watch(eps)
            with tf.GradientTape() as inner:
                inner.watch(trainable)
                losses = cross_entropy_from_logits(
                    labels, self._logits(images, (trainable, non_trainable)))
                virtual_loss = ops.sum(eps * losses)
            gradients = inner.gradient(virtual_loss, trainable)
            stepped = [v - g for v, g in zip(trainable, gradients)]  # virtual SGD, rate 1
            clean_loss = ops.mean(cross_entropy_from_logits(
                clean_labels, self._logits(clean_images, (stepped, non_trainable))))
        return outer.gradient(clean_loss, eps)

    def meta_gradients(self, images, labels, clean_images, clean_labels):
        """`(B,)` `d L_clean / d eps_i` at `eps = 0` of a noisy batch."""
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        clean_labels = ops.reshape(ops.cast(clean_labels, "int32"), (-1,))
        compute = (self._first_order_meta_gradient if self.meta_gradient == "first_order"
                   else self._nested_meta_gradient)
        return compute(ops.convert_to_tensor(images, "float32"), labels,
                       ops.convert_to_tensor(clean_images, "float32"), clean_labels)

    def example_weights(self, images, labels, clean_images, clean_labels):
        """The weights Algorithm 1 gives a noisy batch against a clean batch, `(B,)`."""
        return normalised_weights(self.meta_gradients(images, labels, clean_images,
                                                      clean_labels))

    def label_issues(self, x, y, clean_x, clean_y, batch_size=256):
        """Ranks the given labels by their meta-gradient against the whole clean set.

        The score is `g_i = -grad l_i . grad L_clean` (virtual rate 1): how much a step on the example's label would raise the clean
        loss. Algorithm 1 gives weight 0 to every `g_i >= 0`; the most
        harmful labels come first. The suggested label is the model's
        prediction.

        Args:
            x: `(n, ...)` training inputs; y: `(n,)` their given labels.
            clean_x, clean_y: the trusted set (its loss is the yardstick).
            batch_size: examples per meta pass.

        Returns:
            A `tf_data.LabelIssues` over all `n` examples, `score_name`
            `"meta_gradient"`.
        """
        images = validation.check_inputs(x, "x")
        labels = validation.check_labels(y, self.backbone.output_shape[-1], "y")
        validation.check_same_length(x=images, y=labels)
        clean_images = validation.check_inputs(clean_x, "clean_x")
        scores = [ops.convert_to_numpy(self.meta_gradients(
            images[start:start + batch_size], labels[start:start + batch_size], clean_images,
            clean_y)) for start in range(0, len(labels), batch_size)]
        suggested = predict_probabilities(self, images, batch_size=batch_size).argmax(axis=1)
        return rank_label_issues(labels, suggested.astype(np.int64), np.concatenate(scores),
                                 score_name="meta_gradient")

    # ---------------------------------------------------------------- Keras API
    def _unpack(self, data, need_clean):
        data, images, labels = self._labelled_batch(data)
        if need_clean and (CLEAN_IMAGE_KEY not in data or CLEAN_LABEL_KEY not in data):
            raise ValueError(
                "Learning to Reweight needs a batch of the clean (trusted) set at every step: "
                f"train on dict batches with '{CLEAN_IMAGE_KEY}' and '{CLEAN_LABEL_KEY}' besides "
                "'image' and 'label', e.g. from tf_data.pipelines.trusted_pipeline(features, "
                "clean_images, clean_labels, ...).")
        return data, images, labels

    def train_step(self, data):
        data, images, labels = self._unpack(data, need_clean=True)
        weights = ops.stop_gradient(self.example_weights(
            images, labels, data[CLEAN_IMAGE_KEY], data[CLEAN_LABEL_KEY]))
        with tf.GradientTape() as tape:
            logits = self._backbone_logits(images, training=True)
            # This replica's share of the global weighted loss (weights sum to
            # 1 over the global batch, so the shares add up to it).
            loss = ops.sum(weights * cross_entropy_from_logits(labels, logits))
            total = loss + (replica_share(ops.sum(self.losses)) if self.losses else 0.0)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(total, variables), variables)
        self.kept_tracker.update_state(ops.mean(ops.cast(weights > 0.0, "float32")))
        return self._report(images, labels, logits, loss)

    def test_step(self, data):
        _, images, labels = self._unpack(data, need_clean=False)
        return self._evaluate_batch(images, labels)

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on dict batches that carry a clean batch (see the class)."""
        if y is not None or not isinstance(x, (tf.data.Dataset, dict)) or (
                isinstance(x, dict) and CLEAN_IMAGE_KEY not in x):
            raise ValueError(
                "Learning to Reweight needs a batch of the clean (trusted) set at every step, "
                "which fit(x, y) cannot carry: pass a dataset of dict batches from "
                "tf_data.pipelines.trusted_pipeline(features, clean_images, clean_labels, ...).")
        self._build_from_backbone()
        return super().fit(x, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"meta_gradient": self.meta_gradient})
        return config
