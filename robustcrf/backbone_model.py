"""`BackboneModel`: the Keras plumbing of a model that trains any backbone its own way."""

import keras
from keras import ops

from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.classification import cross_entropy_from_logits
from tf_data.distribute import global_value
from tf_data.distribute import replica_mean_share
from tf_data.keras_contract import compiled_loss_tracker
from tf_data.keras_contract import fixed_input_shape
from tf_data.keras_contract import serving_signature


class BackboneModel(keras.Model):
    """Base of the models that wrap a user's backbone (images -> C logits).

    Gives them what every such model needs besides its objective: building
    from the backbone's input shape (also when loaded from a `.keras` file),
    reading images from arrays or dict batches, `export` of a SavedModel
    whose `serve(x)` is the model's `call`, the backbone's part of
    `get_config` / `from_config`, and for classifiers whose `call` is the
    softmax of the backbone's logits, `call` and the metric report. Subclasses
    set `self.backbone` (and `self.accuracy_tracker` to use `_report`) and
    write `train_step`.

    Args:
        **kwargs: `keras.Model` arguments (`name`).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = None

    @staticmethod
    def _images(inputs):
        return inputs[IMAGE_KEY] if isinstance(inputs, dict) else inputs

    def _labelled_batch(self, data):
        """`(batch dict, images, (B,) int32 labels)` of `(x, y)` or dict batches; labels required."""
        if not isinstance(data, dict):
            images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
            data = {IMAGE_KEY: images, LABEL_KEY: labels}
        if data.get(LABEL_KEY) is None:
            raise ValueError(f"{type(self).__name__} needs labels: fit(x, y) or dict batches "
                             "with 'image' and 'label'.")
        labels = ops.reshape(ops.cast(data[LABEL_KEY], "int32"), (-1,))
        return data, ops.convert_to_tensor(data[IMAGE_KEY], "float32"), labels

    def _backbone_logits(self, images, training):
        return ops.cast(self.backbone(images, training=training), "float32")

    def call(self, inputs, training=False):
        """Class probabilities `softmax(backbone(x))`, `(B, C)`."""
        return ops.softmax(self._backbone_logits(self._images(inputs), training), axis=-1)

    def _evaluate_batch(self, images, labels):
        """`test_step` of a classifier: mean cross-entropy and accuracy on the given labels."""
        logits = self._backbone_logits(images, training=False)
        loss = replica_mean_share(cross_entropy_from_logits(labels, logits))
        return self._report(images, labels, logits, loss)

    def _report(self, images, labels, logits, loss):
        """Records a step's loss (this replica's share) and accuracy on the given labels;
        updates the user's compiled metrics and returns every metric's result."""
        compiled_loss_tracker(self).update_state(global_value(loss))
        probabilities = ops.softmax(logits, axis=-1)
        self.accuracy_tracker.update_state(labels, probabilities)
        return self.compute_metrics(images, labels, probabilities)

    def build(self, input_shape):
        """Builds the backbone for images of `input_shape` `(B, ...)` (or a dict of shapes)."""
        if isinstance(input_shape, dict):
            input_shape = input_shape[IMAGE_KEY]
        self.image_shape = tuple(input_shape)
        if not self.backbone.built:
            self.backbone.build(self.image_shape)
        self.built = True

    def get_build_config(self):
        return None if self.image_shape is None else {"input_shape": list(self.image_shape)}

    def build_from_config(self, config):
        if config:
            self.build(tuple(config["input_shape"]))

    def _build_from_backbone(self):
        shape = fixed_input_shape(self.backbone)
        if not self.built and shape is not None:
            self.build(shape)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes a SavedModel whose `serve(x)` returns what `call` (and `predict`) returns.

        An unbuilt model is built from the backbone's input shape; a backbone
        without a known input shape must be called on a batch first (or
        `input_signature` given).
        """
        shape = fixed_input_shape(self.backbone)
        if input_signature is None and shape is not None:
            input_signature = serving_signature(shape[1:])
        self._build_from_backbone()
        if not self.built:
            if shape is None:
                if input_signature is None:
                    raise ValueError(
                        f"Cannot export an unbuilt {type(self).__name__} whose backbone has no "
                        "known input shape. Call the model on a batch of images first "
                        "(model(x)), or pass input_signature=[tf.TensorSpec((None, H, W, C), "
                        "tf.float32)]."
                    )
                shape = (None,) + tuple(input_signature[0].shape[1:])
            self.build((None,) + tuple(shape[1:]))
        return super().export(filepath, format=format, verbose=verbose,
                              input_signature=input_signature, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["backbone"] = keras.saving.serialize_keras_object(self.backbone)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
