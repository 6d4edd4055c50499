"""Two pieces of the Keras trainer contract that every model of this project shares.

Models with a custom `train_step` report their objective through the `loss`
tracker that `compile` creates (the pattern of Keras' custom-step guide),
and export a serving signature built from their input shape.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from tf_data import validation

PREDICTION_BATCH = 1024


def compiled_loss_tracker(model):
    """The `loss` metric that `model.compile` creates.

    Raises:
        ValueError: the model is not compiled.
    """
    for metric in model.metrics:
        if metric.name == "loss":
            return metric
    raise ValueError("Compile the model (model.compile(optimizer=...)) before fit / evaluate.")


def check_total_steps(total_steps):
    """Returns a callback's `total_steps` (None or an int >= 1), else a ValueError."""
    if total_steps is None:
        return None
    return validation.check_positive_int(total_steps, "total_steps")


def run_steps(params, callback_name, total_steps=None):
    """The optimiser steps of a whole `fit` run, for callbacks on a step clock.

    Args:
        params: the callback's `params` (Keras sets `epochs` and `steps`).
        callback_name: named in the error, e.g. `"AlphaAnnealing(fraction=...)"`.
        total_steps: a length given by the user; returned as it is.

    Returns:
        `total_steps`, else `epochs * steps` of the `fit` call.

    Raises:
        ValueError: neither is known (a dataset of unknown length and no
            `steps_per_epoch`).
    """
    if total_steps:
        return int(total_steps)
    epochs, steps = params.get("epochs"), params.get("steps")
    if not epochs or not steps:
        raise ValueError(
            f"{callback_name} needs the run's total steps: fit with steps_per_epoch "
            "(or a dataset of known length), or pass total_steps.")
    return int(epochs) * int(steps)


def fixed_input_shape(model):
    """`model.input_shape` when every non-batch dimension is known, else None."""
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and shape and all(d is not None for d in shape[1:]):
        return shape
    return None


def serving_signature(example_shape, name="x"):
    """`[TensorSpec((None,) + example_shape, float32)]`: the `serve(x)` signature of an export."""
    return [tf.TensorSpec((None,) + tuple(example_shape), tf.float32, name=name)]


def predict_probabilities(model, images, from_logits=False, batch_size=PREDICTION_BATCH):
    """Class probabilities of `model` over all `images`, in inference mode, as float64 NumPy.

    Args:
        model: images -> `(B, C)` probabilities, or logits with `from_logits`.
        images: `(n, ...)` inputs.
        from_logits: apply the softmax to the model's outputs.
        batch_size: examples per forward pass.
    """
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = model(images[start:start + batch_size], training=False)
        if from_logits:
            batch = ops.softmax(batch, axis=-1)
        outputs.append(ops.convert_to_numpy(batch))
    return np.concatenate(outputs).astype(np.float64)
