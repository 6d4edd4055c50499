"""Batch unpacking and the evaluation step shared by UMN and its baselines."""

from keras import ops

from tf_data import environment  # noqa: F401  (quiet TensorFlow import)


def unpack_batch(data):
    """`(images, labels)` from a pipeline dict or an `(x, y)` tuple.

    Labels of unlabelled examples are -1 (`tf_data.pipelines.UNLABELLED`).
    """
    if isinstance(data, dict):
        return data["image"], data["label"]
    if isinstance(data, (tuple, list)):
        images = data[0]
        if isinstance(images, dict):
            return images["image"], images["label"]
        return images, data[1]
    raise ValueError(
        "Training batches must be dicts with 'image' and 'label' (see "
        "tf_data.mixed_pipeline) or (images, labels) tuples."
    )


def check_batch_images(images, image_shape):
    """Raises ValueError when a batch's static image shape is not `image_shape`.

    Runs while the train step is traced, so a wrong input shape fails with a
    clear message instead of a shape error deep inside a layer.
    """
    shape = tuple(images.shape[1:])
    if None not in shape and shape != tuple(image_shape):
        raise ValueError(
            f"The model was built for images of shape {tuple(image_shape)} but got "
            f"{shape}. Rebuild it with image_shape={shape} or resize the images."
        )
    return images


def images_of(inputs):
    """The image tensor of a dict batch, or `inputs` itself."""
    return inputs["image"] if isinstance(inputs, dict) else inputs


def correct_predictions(probs, labels):
    """`(B,)` float 1.0 where `argmax(probs) == labels`, else 0.0.

    Args:
        probs: `(B, C)` class probabilities.
        labels: `(B,)` true class indices.
    """
    predicted = ops.argmax(probs, axis=-1)
    return ops.cast(predicted == ops.cast(labels, predicted.dtype), "float32")


class AccuracyTestStep:
    """Mixin: `keras.Model.test_step` reporting the accuracy of `self(images)`.

    The host model must define `accuracy_tracker` (a `keras.metrics.Mean`)
    and a `call` returning `(B, C)` class probabilities (the guider / teacher
    for UMN and Mean Teacher, the classifier for the supervised baselines).
    List it before `keras.Model` in the bases so that this `test_step` wins.
    """

    def test_step(self, data):
        images, labels = unpack_batch(data)
        probs = self(images, training=False)
        self.accuracy_tracker.update_state(correct_predictions(probs, labels))
        return {"accuracy": self.accuracy_tracker.result()}
