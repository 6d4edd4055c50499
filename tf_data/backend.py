"""The one runtime requirement of this project's packages: Keras on TensorFlow.

The models hold their persistent state (PCD chains, the EMA guider) in
variables updated inside custom `train_step`s that use `tf.GradientTape`,
`tf.data` and `tf.distribute`, so they need the TensorFlow backend. Importing
a package checks it once and fails with a message that says how to fix it; it
changes nothing else (no environment variables, no redirected output), so the
packages import in any order, before or after `keras`.
"""

import keras

REQUIRED_BACKEND = "tensorflow"


def require_tensorflow_backend(package):
    """Raises ImportError when Keras runs on a backend other than TensorFlow.

    Args:
        package: the importing package's name, for the message.
    """
    backend = keras.backend.backend()
    if backend != REQUIRED_BACKEND:
        raise ImportError(
            f"{package} needs the Keras TensorFlow backend, but Keras is running on "
            f"{backend!r}. Set KERAS_BACKEND=tensorflow before Python starts (or before "
            "the first `import keras`), or set \"backend\": \"tensorflow\" in "
            "~/.keras/keras.json.")
