"""The Keras contract shared by UMN and its baselines: steps, metrics, label issues, export."""

import dataclasses

import numpy as np
import tensorflow as tf
from keras import ops

from tf_data import validation
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import UNLABELLED
from tf_data.distribute import global_value
from tf_data.distribute import replica_share
from tf_data.keras_contract import compiled_loss_tracker
from tf_data.keras_contract import serving_signature
from tf_data.label_issues import issues_from_probabilities
from tf_data.label_issues import rank_label_issues
from umn.batches import check_batch_images
from umn.batches import unpack_batch
from umn.label_spreading import held_out_posterior_of_labels
from umn.partial_labels import check_partial_labels


class KerasContract:
    """Mixin: the Keras trainer contract for a model with its own objective.

    Gives `train_step` / `test_step` (so `fit`, `evaluate` and
    `fit(..., validation_data=...)` work on arrays, dict batches and
    `tf.data`), compiled metrics (`compile(metrics=[...])`), `label_issues`
    and `export`. List it before `keras.Model` in the bases.

    Every step reports, besides the user's compiled metrics: `loss` (the
    objective, in the loss tracker `compile` creates), the host's trackers
    and `accuracy`; each is a weighted mean over the epoch's batches. The
    compiled metrics and `accuracy` see the given labels of the labelled
    rows only (label >= 0; unlabelled rows, -1, are dropped) against the
    class probabilities the host's step returns: in `fit` the
    learner's (student's, classifier's) probabilities of the training
    forward pass (perturbed inputs, training mode); in `evaluate` and the
    `val_*` entries of `fit`'s history what `predict` returns (the guider /
    teacher, or the classifier). Every metric is a model attribute, so
    `reset_metrics` (called by Keras at every epoch) resets all of them.

    The host model must have `image_shape`, `num_classes`, an
    `accuracy_tracker` (`keras.metrics.SparseCategoricalAccuracy`), and:

    * `_step(images, labels, training)`: a dict with `loss` (scalar),
      `probabilities` (`(B, C)`), `trackers` (a list of `(metric, value,
      weight)`: `metric.update_state(value, sample_weight=weight)`, weight
      None for 1) and optionally `loss_weight` (the batch's weight in the
      epoch's mean loss; default the batch size, as Keras weighs it);
    * optionally `_step_inputs(data)`: more keyword arguments of `_step`
      read off the batch (UMN's held-out disbelief);
    * optionally `_after_optimizer_step()` (e.g. the EMA update of a guider);
    * `label_issue_scores`: the `score` values `label_issues` accepts, and
      `_label_scores(images, labels, score, batch_size)` for any besides
      `"disbelief"` and `"with_held_out"`.

    Sample weights and `class_weight` are rejected (`umn.batches.
    unpack_batch`): the objectives have no per-example weights. Data given
    to `fit` / `evaluate` (and `validation_data`) as in-memory arrays is
    checked before training: finite images in the range the host accepts
    (`_check_pixel_values`), one label per image, labels in
    `{-1} U [0, C)` (`umn.partial_labels.check_partial_labels`). A stream is not
    read ahead; build it from checked arrays (`umn.streams`).

    Example:

    >>> class Model(KerasContract, keras.Model):
    ...     def _step(self, images, labels, training):
    ...         return {"loss": ..., "probabilities": ..., "trackers": []}
    """

    # The scores read off a class posterior (`issues_from_probabilities`);
    # a host adds its own after them (`_label_scores`).
    posterior_scores = ("disbelief", "with_held_out")
    label_issue_scores = posterior_scores

    # ----------------------------------------------------------- input checks
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after checking in-memory `x`, `y` and `validation_data`."""
        self._check_in_memory_data(x, y)
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            self._check_in_memory_data(validation_data[0], validation_data[1])
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, after checking in-memory `x` and `y`."""
        self._check_in_memory_data(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_in_memory_data(self, x, y):
        """Raises ValueError on bad images or labels given as arrays; streams pass."""
        images, labels = x, y
        if isinstance(x, dict):
            images = x.get(IMAGE_KEY)
            labels = x.get(LABEL_KEY) if y is None else y
        if not isinstance(images, (np.ndarray, tf.Tensor)):
            return
        images = validation.check_images(np.asarray(images), "x")
        self._check_pixel_values(images)
        if isinstance(labels, (np.ndarray, tf.Tensor, list)):
            labels = np.asarray(labels)
            validation.check_same_length(x=images, y=labels)
            check_partial_labels(labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1
                                 else labels, self.num_classes)

    def _check_pixel_values(self, images):
        """Raises ValueError on pixel values the objective cannot take; any by default."""

    # ------------------------------------------------------------------ steps
    def _batch(self, data):
        images, labels = unpack_batch(data)
        images = check_batch_images(ops.convert_to_tensor(images, "float32"), self.image_shape)
        return images, ops.reshape(ops.cast(labels, "int32"), (-1,))

    def _step_inputs(self, data):
        """Keyword arguments of `_step` read off a batch besides images and labels; none here."""
        return {}

    def _after_optimizer_step(self):
        """Runs after every optimiser update; nothing by default."""

    def _total_loss(self, loss):
        return loss + replica_share(ops.sum(self.losses)) if self.losses else loss

    def _report(self, images, labels, loss, step):
        """Updates every metric of one step and returns all their results."""
        loss_weight = step.get("loss_weight", ops.shape(labels)[0])
        compiled_loss_tracker(self).update_state(global_value(loss), sample_weight=loss_weight)
        for tracker, value, weight in step["trackers"]:
            tracker.update_state(value, sample_weight=weight)
        labelled = ops.cast(labels >= 0, "float32")
        self.accuracy_tracker.update_state(ops.maximum(labels, 0), step["probabilities"],
                                           sample_weight=labelled)
        return self.compute_metrics(images, labels, step["probabilities"])

    def train_step(self, data):
        images, labels = self._batch(data)
        with tf.GradientTape() as tape:
            step = self._step(images, labels, training=True, **self._step_inputs(data))
            loss = self._total_loss(step["loss"])
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self._after_optimizer_step()
        return self._report(images, labels, loss, step)

    def test_step(self, data):
        images, labels = self._batch(data)
        step = self._step(images, labels, training=False, **self._step_inputs(data))
        return self._report(images, labels, self._total_loss(step["loss"]), step)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics on the labelled rows; returns every metric's result.

        Rows whose label is `UNLABELLED` (-1) are dropped before the compiled
        metrics see `y` and `y_pred`, so plain `metrics=` and
        `weighted_metrics=` alike score the labelled rows only.

        Args:
            x: the batch's inputs (a dict batch supplies `y` when it is None).
            y: `(B,)` given labels, -1 for unlabelled rows.
            y_pred: `(B, C)` class probabilities.
            sample_weight: optional `(B,)` weights for `weighted_metrics`.

        Returns:
            A dict `name -> result` of all metrics of `self.metrics`.
        """
        if y is None and isinstance(x, dict):
            y = x.get(LABEL_KEY)
        if y is not None:
            y = ops.reshape(y, (-1,))
            rows = ops.nonzero(y >= 0)[0]
            y = ops.take(y, rows, axis=0)
            y_pred = ops.take(y_pred, rows, axis=0)
            if sample_weight is not None:
                sample_weight = ops.take(ops.reshape(sample_weight, (-1,)), rows, axis=0)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    # ----------------------------------------------------------- label issues
    def label_issues(self, x, y, score="disbelief", batch_size=256, seed=0,
                     held_out_posterior=None):
        """Ranks the given labels by how likely the model finds them wrong.

        Scores (larger = more likely wrong; score name
        `"wrong_label_probability"`, `1 - p(y | x)` under a posterior `p`,
        `tf_data.label_issues.issues_from_probabilities`):

        * `"disbelief"`: `p` is what `predict` returns; the suggested label
          is its argmax.
        * `"with_held_out"`: `p` is the mean of what `predict` returns and
          of a label-spreading posterior that never saw the row's own label
          (`umn.label_spreading.held_out_label_posterior`, 5 folds of the
          labels, the rows of `x`, labelled or not, in its kNN graph, up
          to 10,000 unlabelled ones). The
          model was trained on the labels it judges and believes many of
          the wrong ones; the held-out view cannot, and the two make
          different mistakes (as `robustcrf.find_label_issues` averages
          its CRF with held-out networks). The suggested label is the
          mean's argmax.

        `1 - p(y | x) > 0.5` (the label more likely wrong than right) is a
        natural cut. Unlabelled rows (label -1) are dropped, not scored;
        `indices` are positions in `x`.

        Args:
            x: `(n, H, W, K)` images.
            y: `(n,)` their given labels in `[0, C)`, -1 for unlabelled rows.
            score: one of `label_issue_scores`.
            batch_size: examples per forward pass.
            seed: int seed of the held-out view's folds and PCA
                (`"with_held_out"` only).
            held_out_posterior: optional `(m, C)` held-out posterior of the
                labelled rows (in the order of `np.flatnonzero(y >= 0)`)
                that `"with_held_out"` takes instead of label spreading's,
                e.g. `umn.cross_fitted.cross_fitted_label_posterior`.

        Returns:
            A `tf_data.label_issues.LabelIssues` over the labelled rows, most
            suspicious first.

        Raises:
            ValueError: an unknown score, no labelled row, labels out of
                range, `"with_held_out"` with fewer than 2 labelled rows, or
                a `held_out_posterior` that is not `(m, C)` distributions.

        Example:

        >>> issues = model.label_issues(x_train, partial_labels, score="with_held_out")
        >>> issues[issues.scores > 0.5].to_csv("suspected_labels.csv")
        """
        if score not in self.label_issue_scores:
            raise ValueError(f"score must be one of {self.label_issue_scores} for "
                             f"{type(self).__name__}, got {score!r}.")
        if held_out_posterior is not None and score != "with_held_out":
            raise ValueError(f"held_out_posterior is read by score='with_held_out' only, got "
                             f"score={score!r}.")
        all_images = validation.check_images(x, "x")
        given = np.asarray(y)
        validation.check_same_length(x=all_images, y=given)
        rows = np.flatnonzero(given != UNLABELLED)
        if len(rows) == 0:
            raise ValueError(f"label_issues needs labelled examples; every label is "
                             f"{UNLABELLED} (unlabelled).")
        labels = validation.check_labels(given[rows], self.num_classes, "y")
        images = all_images[rows]
        probabilities = self.predict(images, batch_size=batch_size, verbose=0)
        if score == "with_held_out":   # raises with fewer than 2 labelled rows
            held_out = (held_out_posterior_of_labels(all_images, given, self.num_classes,
                                                     seed=seed)
                        if held_out_posterior is None
                        else validation.check_class_distributions(
                            held_out_posterior, len(rows), self.num_classes,
                            "held_out_posterior"))
            probabilities = 0.5 * (np.asarray(probabilities, np.float64) + held_out)
        if score in self.posterior_scores:
            issues = issues_from_probabilities(probabilities, labels)
        else:
            issues = rank_label_issues(
                labels, np.argmax(probabilities, axis=-1).astype(np.int64),
                self._label_scores(images, labels, score, batch_size), score_name=score)
        return dataclasses.replace(issues, indices=rows[issues.indices].astype(np.int64))

    # ----------------------------------------------------------------- export
    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes an inference artifact whose `serve(x)` returns `predict(x)`.

        The default signature takes `(None,) + image_shape` float32 images;
        `tf.saved_model.load(filepath).serve(x)` gives the class
        probabilities of the model's call (the guider / teacher, or the
        classifier). Arguments as `keras.Model.export`.

        Example:

        >>> model.export("/tmp/umn_model")
        >>> tf.saved_model.load("/tmp/umn_model").serve(x_test[:4])
        """
        if input_signature is None:
            input_signature = serving_signature(self.image_shape, name="images")
        return super().export(filepath, format=format, verbose=verbose,
                              input_signature=input_signature, **kwargs)
