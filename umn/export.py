"""SavedModel export of the guider classifier."""

from tf_data import environment

tf = environment.import_tensorflow_quietly()

import keras  # noqa: E402


def export_guider(model, path):
    """Writes a TensorFlow SavedModel with `serve(x) -> class probabilities`.

    Works for any model of this package with a `guider` (UMN, Mean
    Teacher's teacher): only the guider's networks are exported.

    Args:
        model: a trained model with `.guider` and `.image_shape`.
        path: output directory.

    Returns:
        `path`. Load with `tf.saved_model.load(path).serve(images)`.

    Example:

    >>> export_guider(umn_model, "/tmp/umn_guider")
    >>> tf.saved_model.load("/tmp/umn_guider").serve(x_test[:4])
    """
    if getattr(model, "guider", None) is None:
        raise ValueError(
            "This model has no guider to export (ema_decay=None); build it with "
            "an ema_decay in [0, 1)."
        )
    shape = tuple(model.image_shape)
    archive = keras.export.ExportArchive()
    archive.track(model.guider)
    archive.add_endpoint(
        name="serve",
        fn=lambda images: model.guider(images),
        input_signature=[tf.TensorSpec((None,) + shape, tf.float32, name="images")],
    )
    archive.write_out(path, verbose=False)
    return path
