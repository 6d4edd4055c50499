"""`RobustCRFModel`: any backbone + the analytic multiclass robust CRF.

Training is the paper's EM (Sections 3.1-3.3, Algorithm 1 without sampling):
each step computes the regularised posterior `q` of Eq. 10 from the current
network and the auxiliary distribution, holds it fixed, and takes a gradient
step on the M-step objective `E_q[log p(y, y_hat | x)]` (Eq. 12), whose
negative-phase expectation is exact here (the C x C table is summed).
"""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf.alpha_annealing import check_alpha
from robustcrf.auxiliary import AuxiliaryPosterior
from robustcrf.backbone_model import BackboneModel
from robustcrf.class_collapse import ClassShareTracker
from robustcrf.class_collapse import collapsed_classes
from robustcrf.class_collapse import warn_if_collapsed
from robustcrf.crf_layer import NOISY_BIAS_KINDS
from robustcrf.crf_layer import MulticlassCRF
from robustcrf.losses import DEFAULT_CLASS_BALANCE
from robustcrf.losses import check_class_balance
from robustcrf.losses import class_balance_penalty
from tf_data import validation
from tf_data.distribute import global_value
from tf_data.distribute import replica_mean_share
from tf_data.distribute import replica_share
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import SAMPLE_WEIGHT_KEY
from tf_data.batch_keys import UNLABELLED
from tf_data.batch_keys import VERIFIED_LABEL_KEY
from tf_data.keras_contract import compiled_loss_tracker
from tf_data.label_issues import rank_label_issues
from tf_data.label_issues import wrong_label_probabilities


def add_logits_head(features_model, num_classes, name=None):
    """Puts a `Dense(num_classes)` head on a feature extractor: images -> logits `a(x)`.

    Args:
        features_model: a functional Keras model (e.g. from
            `robustcrf.backbones.build_backbone`) mapping images to features.
        num_classes: C.
        name: model name; default `<features name>_logits`.

    Returns:
        A `keras.Model` mapping images to `(B, C)` logits.

    Example:

    >>> backbone = add_logits_head(backbones.small_cnn((8, 8, 1)), 10)
    """
    validation.check_num_classes(num_classes)
    inputs = keras.Input(features_model.input_shape[1:])
    logits = keras.layers.Dense(num_classes, name="logits")(features_model(inputs))
    return keras.Model(inputs, logits, name=name or f"{features_model.name}_logits")


def em_loss(objective, weights):
    """Negative weighted mean of the per-example M-step objective (this replica's
    share of it over the global batch under a `tf.distribute` strategy)."""
    return -replica_mean_share(objective, weights)


class _ClassShareWatch(keras.callbacks.Callback):
    """Resets the model's class-share tracker every epoch; warns on collapse at the end."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.class_share_tracker.reset_state()

    def on_train_end(self, logs=None):
        warn_if_collapsed(*self.model.class_share_tracker.shares(), where="the last epoch")


@keras.saving.register_keras_serializable(package="robustcrf")
class RobustCRFModel(BackboneModel):
    """A backbone `a(x)` under the analytic robust CRF, trained by regularised EM.

    Implements Eq. 1-2 (joint of clean `y_hat` and noisy `y`, no hidden
    units), Eq. 10 (the regularised posterior `q`, held fixed in a step) and
    Eq. 12 (the M-step gradient of `E_q[log p(y, y_hat | x)]`). `alpha` is a
    non-trainable variable named `alpha`, saved and restored with the model;
    anneal it with `robustcrf.AlphaAnnealing` (paper: 8 -> 1 over 10 epochs).

    Training data: `(images, labels)` tuples (`fit(x, y)`), or dict batches
    from `tf_data.training_pipeline` (`image`, `label`, `index`; an optional
    `verified_label` >= 0 marks trusted clean labels, whose term uses the
    known clean label instead of `q`, as in Eq. 13; label -1 = unlabelled,
    ignored in the loss).

    Args:
        backbone: a Keras model mapping images to C clean logits `a(x)`
            (see `add_logits_head`).
        auxiliary: an `AuxiliaryPosterior` with the same C.
        alpha: initial alpha, >= 0.
        noisy_bias: `"constant"` (default; the paper's "no x-y link" form,
            Fig. 2.c: `b` is a trainable vector) or `"head"` (`b(x)` from a
            second head on the clean logits). With `"head"` and a free `W`,
            `b(x)` can explain the noisy labels by itself and leave `a(x)`
            under-constrained; `q` is then the only thing tying `a(x)` to
            clean classes, which is why `"constant"` is the default.
        noisy_head: with `noisy_bias="head"`, a layer mapping `(B, C)` clean
            logits to `(B, C)` noisy logits; default a zero-initialised Dense.
        class_balance: weight of `robustcrf.losses.class_balance_penalty`
            added to the M-step loss (not in the paper; 0 gives its exact
            objective): the batch's mean clean prediction is asked to match
            the clean-class shares that `p_aux` implies from the noisy
            labels. Without it, once `W` explains a class's noisy labels
            the class can stop being predicted for good (on digits under
            Patrini's `mnist` noise at 0.3 and alpha ending at 0, two of
            three seeds lost a class; none did with it).
        **kwargs: `keras.Model` arguments (`name`).

    Call arguments:
        inputs: images `(B, ...)`, or a dict with key `image`.
        training: whether the backbone runs in training mode.

    Returns:
        The exact clean marginal `p(y_hat | x)`, `(B, C)` (also what
        `predict` returns).

    Example:

    >>> T = tf_data.transition_matrix("mnist", 10, 0.3)
    >>> aux = AuxiliaryPosterior.from_transition_matrix(T, prior)
    >>> model = RobustCRFModel(add_logits_head(small_cnn((8, 8, 1)), 10), aux)
    >>> model.compile(optimizer="adam")
    >>> model.fit(x, noisy_y, epochs=30, callbacks=[AlphaAnnealing(8.0, 1.0, 10)])
    >>> issues = model.label_issues(x, noisy_y)  # most suspicious labels first
    """

    def __init__(self, backbone, auxiliary, alpha=8.0, noisy_bias="constant", noisy_head=None,
                 class_balance=DEFAULT_CLASS_BALANCE, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(auxiliary, AuxiliaryPosterior):
            raise ValueError(
                "auxiliary must be an AuxiliaryPosterior (build it with "
                "AuxiliaryPosterior.from_transition_matrix or .from_clean_subset), got "
                f"{type(auxiliary).__name__}."
            )
        if not isinstance(backbone, keras.layers.Layer):
            raise ValueError(
                f"backbone must be a Keras model/layer, got {type(backbone).__name__}.")
        if noisy_bias not in NOISY_BIAS_KINDS:
            raise ValueError(f"noisy_bias must be one of {NOISY_BIAS_KINDS}, got {noisy_bias!r}.")
        if noisy_bias == "constant" and noisy_head is not None:
            raise ValueError("noisy_head is only used with noisy_bias='head'; drop it.")
        self.num_classes = auxiliary.num_classes
        self.backbone = backbone
        self.auxiliary = auxiliary
        self.initial_alpha = check_alpha(alpha)
        self.noisy_bias = noisy_bias
        self._check_logits_shape(getattr(backbone, "output_shape", None), "backbone")
        self.crf = MulticlassCRF(self.num_classes, noisy_bias=noisy_bias, name="crf")
        self.class_balance = check_class_balance(class_balance)
        if noisy_bias == "head" and noisy_head is None:
            noisy_head = keras.layers.Dense(self.num_classes, kernel_initializer="zeros",
                                            name="noisy_head")
        if noisy_head is not None and not noisy_head.built:
            noisy_head.build((None, self.num_classes))
        self.noisy_head = noisy_head
        self.alpha = self.add_weight(
            shape=(), name="alpha", trainable=False, dtype="float32",
            initializer=keras.initializers.Constant(self.initial_alpha))
        self.noisy_nll_tracker = keras.metrics.Mean(name="noisy_nll")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        # Reset per epoch by `fit` itself, not by Keras: validation must not
        # overwrite the training-set shares the collapse warning reads.
        self.class_share_tracker = ClassShareTracker(self.num_classes)

    # ------------------------------------------------------------------ helpers
    def _check_logits_shape(self, shape, what):
        if shape is None or isinstance(shape, list) or not shape:
            return
        if shape[-1] is not None and shape[-1] != self.num_classes:
            raise ValueError(
                f"The {what} outputs {shape[-1]} values per example but the CRF has "
                f"C={self.num_classes} classes (from the auxiliary distribution). Give the "
                f"backbone a Dense({self.num_classes}) head (robustcrf.add_logits_head)."
            )

    def _logits(self, images, training):
        clean_logits = ops.cast(self.backbone(images, training=training), "float32")
        self._check_logits_shape(tuple(clean_logits.shape), "backbone")
        noisy_logits = None
        if self.noisy_bias == "head":
            noisy_logits = ops.cast(self.noisy_head(clean_logits, training=training), "float32")
            self._check_logits_shape(tuple(noisy_logits.shape), "noisy_head")
        return clean_logits, noisy_logits

    @staticmethod
    def _unpack(data):
        if isinstance(data, dict):
            batch = data
            sample_weight = data.get(SAMPLE_WEIGHT_KEY)
        else:
            batch, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            if not isinstance(batch, dict):
                if labels is None:
                    raise ValueError("RobustCRFModel needs noisy labels: fit(x, y) or dict "
                                     "batches with a 'label' key.")
                batch = {IMAGE_KEY: batch, LABEL_KEY: labels}
        if LABEL_KEY not in batch:
            raise ValueError(f"Dict batches need keys '{IMAGE_KEY}' and '{LABEL_KEY}', got "
                             f"{sorted(batch)}.")
        labels = ops.reshape(ops.cast(batch[LABEL_KEY], "int32"), (-1,))
        verified = batch.get(VERIFIED_LABEL_KEY)
        if verified is not None:
            verified = ops.reshape(ops.cast(verified, "int32"), (-1,))
        return batch[IMAGE_KEY], labels, verified, sample_weight

    def _step_terms(self, images, labels, verified, sample_weight, training):
        """Loss, per-example log p(y|x), clean marginal, example weights, labels
        and `p_aux(y_hat | y)` (the clean shares the noisy labels imply)."""
        clean_logits, noisy_logits = self._logits(images, training)
        labelled = ops.cast(labels >= 0, "float32")
        weights = labelled
        if sample_weight is not None:
            weights = weights * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        safe_labels = ops.maximum(labels, 0)
        auxiliary_logits = self.auxiliary(safe_labels)
        expected_clean = ops.softmax(auxiliary_logits, axis=-1)
        posterior = self.crf.regularised_posterior(
            clean_logits, safe_labels, auxiliary_logits, self.alpha)
        if verified is not None:
            is_verified = ops.cast(verified >= 0, "float32")[:, None]
            known = ops.one_hot(ops.maximum(verified, 0), self.num_classes, dtype="float32")
            posterior = is_verified * known + (1.0 - is_verified) * posterior
        posterior = ops.stop_gradient(posterior)
        terms = self.crf.training_terms(clean_logits, safe_labels, posterior, noisy_logits)
        loss = em_loss(terms["objective"], weights)
        if self.class_balance:
            loss = loss + replica_share(self.class_balance * class_balance_penalty(
                expected_clean, terms["clean_marginal"], weights))
        return (loss, terms["noisy_log_likelihood"], terms["clean_marginal"], weights,
                safe_labels, expected_clean)

    def _update_metrics(self, images, loss, log_likelihood, marginal, weights, labels):
        """Updates Keras' loss tracker, the model's trackers and the user's compiled
        metrics (given labels against the clean marginal `p(y_hat | x)`); returns the logs."""
        compiled_loss_tracker(self).update_state(global_value(loss))
        self.noisy_nll_tracker.update_state(-log_likelihood, sample_weight=weights)
        self.accuracy_tracker.update_state(labels, marginal, sample_weight=weights)
        return self.compute_metrics(images, labels, marginal, sample_weight=weights)

    # ---------------------------------------------------------------- Keras API
    @property
    def metrics(self):
        # Keras' own (the loss, the user's compiled metrics) and the model's
        # trackers, except the class-share tracker: `fit` resets that one per
        # epoch, so that validation does not overwrite the training shares.
        return [m for m in super().metrics if m is not self.class_share_tracker]

    def call(self, inputs, training=False):
        clean_logits, noisy_logits = self._logits(self._images(inputs), training)
        return self.crf(clean_logits, noisy_logits)

    def train_step(self, data):
        images, labels, verified, sample_weight = self._unpack(data)
        with tf.GradientTape() as tape:
            loss, log_likelihood, marginal, weights, labels, expected = self._step_terms(
                images, labels, verified, sample_weight, training=True)
            total = loss + (replica_share(ops.sum(self.losses)) if self.losses else 0.0)
        variables = self.trainable_variables
        gradients = tape.gradient(total, variables)
        self.optimizer.apply(gradients, variables)
        self.class_share_tracker.update_state(marginal, expected, weights)
        logs = self._update_metrics(images, total, log_likelihood, marginal, weights, labels)
        logs[self.class_share_tracker.name] = self.class_share_tracker.result()
        return logs

    def test_step(self, data):
        images, labels, verified, sample_weight = self._unpack(data)
        loss, log_likelihood, marginal, weights, labels, _ = self._step_terms(
            images, labels, verified, sample_weight, training=False)
        return self._update_metrics(images, loss, log_likelihood, marginal, weights, labels)

    def _check_arrays(self, x, y):
        if isinstance(x, tf.data.Dataset):
            if int(x.cardinality()) == 0:
                raise ValueError("The dataset is empty: it yields no batches. Check the data "
                                 "and that batch_size does not exceed the number of examples.")
            return
        if isinstance(x, dict):
            images, y = x.get(IMAGE_KEY), x.get(LABEL_KEY, y)
        else:
            images = x
        if images is not None and hasattr(images, "__len__") and len(images) == 0:
            raise ValueError("The dataset is empty: pass at least one image.")
        if y is not None and not isinstance(y, tf.data.Dataset):
            labels = np.asarray(y).reshape(-1)
            if labels.size and labels.min() == UNLABELLED:
                labels = labels[labels != UNLABELLED]
            if labels.size:
                validation.check_labels(labels, self.num_classes)

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`, after checking that arrays are non-empty and labels in [0, C).

        Each epoch logs `min_class_share_ratio`, the smallest ratio over
        clean classes of the share of training examples predicted as the
        class to the share `p_aux` expects from the noisy labels. After the
        last epoch a `UserWarning` names every clean class below
        `robustcrf.class_collapse.COLLAPSE_RATIO` (a collapsed class).
        """
        self._check_arrays(x, y)
        self._build_from_backbone()
        callbacks = list(kwargs.pop("callbacks", None) or [])
        callbacks.append(_ClassShareWatch())
        return super().fit(x, y, callbacks=callbacks, **kwargs)

    def collapsed_classes(self):
        """Clean classes predicted far less than expected in the last training epoch."""
        return collapsed_classes(*self.class_share_tracker.shares())

    def evaluate(self, x=None, y=None, **kwargs):
        """`keras.Model.evaluate`, after the same checks as `fit`."""
        self._check_arrays(x, y)
        return super().evaluate(x, y, **kwargs)

    # ------------------------------------------------------------- label recovery
    def regularised_posterior(self, images, noisy_labels, training=False):
        """Eq. 10's `q(y_hat | y, x)` at the current alpha, `(B, C)` tensor."""
        labels = ops.reshape(ops.cast(noisy_labels, "int32"), (-1,))
        clean_logits, _ = self._logits(images, training)
        return self.crf.regularised_posterior(clean_logits, labels, self.auxiliary(labels),
                                              self.alpha)

    def regularised_posteriors(self, x, y, batch_size=256):
        """Eq. 10's `q(y_hat | y, x)` at the current alpha for every example, as NumPy.

        Args:
            x: `(n, ...)` inputs.
            y: `(n,)` their given (noisy) labels in `[0, C)`.
            batch_size: examples per forward pass.

        Returns:
            `(n, C)` float64 rows summing to 1.
        """
        images = np.asarray(x)
        if len(images) == 0:
            raise ValueError("The CRF's posteriors need at least one example.")
        labels = validation.check_labels(y, self.num_classes, "y")
        validation.check_same_length(x=images, y=labels)
        posteriors = []
        for start in range(0, len(images), batch_size):
            stop = start + batch_size
            posteriors.append(ops.convert_to_numpy(
                self.regularised_posterior(images[start:stop], labels[start:stop])))
        return np.concatenate(posteriors).astype(np.float64)

    def label_issues(self, x, y, batch_size=256):
        """Ranks the given labels by how likely the CRF finds them wrong.

        The CRF's answer is Eq. 10's regularised posterior `q(y_hat | y, x)`
        at the current alpha (the paper's label recovery uses `q` at the end
        of training): the suggested label is `argmax q` and the score
        `1 - q(y_hat = y | y, x)`, the probability that the given label is
        not the clean one.

        Args:
            x: `(n, ...)` training inputs.
            y: `(n,)` their given (noisy) labels in `[0, C)`.
            batch_size: examples per forward pass.

        Returns:
            A `tf_data.LabelIssues` over all `n` examples, most suspicious
            first; `.flagged()` keeps those whose suggestion differs from
            the given label, `.to_csv(path)` writes them.

        Example:

        >>> issues = model.label_issues(x_train, noisy_labels)
        >>> issues.flagged().to_csv("suspected_labels.csv")
        """
        posterior = self.regularised_posteriors(x, y, batch_size)
        labels = validation.check_labels(y, self.num_classes, "y")
        return rank_label_issues(labels, posterior.argmax(axis=1).astype(np.int64),
                                 wrong_label_probabilities(posterior, labels),
                                 score_name="wrong_label_probability")

    # ------------------------------------------------------------- serialisation
    def get_config(self):
        config = super().get_config()
        config.update({
            "auxiliary": keras.saving.serialize_keras_object(self.auxiliary),
            "alpha": self.initial_alpha,
            "noisy_bias": self.noisy_bias,
            "class_balance": self.class_balance,
            "noisy_head": (None if self.noisy_head is None
                           else keras.saving.serialize_keras_object(self.noisy_head)),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("auxiliary", "noisy_head"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return super().from_config(config)
