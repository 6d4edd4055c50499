"""The factorial conditionals of the bipartite CRF (Section 3)."""

import keras
from keras import ops

from robustcrf.multilabel.energy import CRFEnergy


@keras.saving.register_keras_serializable(package="robustcrf")
class FactorialConditionals(keras.layers.Layer):
    """`p(y_hat | y, x)`, `p(h | y)` and `p(y | y_hat, h, x)`, all factorial.

    The CRF graph is bipartite (Fig. 1.b), so given the noisy labels the
    clean labels and hidden units are independent Bernoullis, and given
    `(y_hat, h)` the noisy labels are:
    `p(y_hat_i | y, x) = sigmoid(a_i(x) + W_i y)`,
    `p(h_j | y) = sigmoid(c_j + W'_j y)`,
    `p(y_k | y_hat, h, x) = sigmoid(b_k(x) + W_:k^T y_hat + W'_:k^T h)`.
    The layer reads the parameters of a `CRFEnergy` and owns none.

    Args:
        energy: the `CRFEnergy` whose conditionals these are.

    Call arguments:
        a: `(..., C)` clean unaries.
        b: `(..., N)` noisy unaries.
        y: `(..., N)` noisy states, or None.
        latent: `(..., C + H)` states `(y_hat, h)` concatenated, or None.

    Returns:
        A dict: `"clean"` `p(y_hat = 1 | y, x)` and `"hidden"`
        `p(h = 1 | y)` when `y` is given, `"noisy"` `p(y = 1 | y_hat, h, x)`
        when `latent` is given.

    Example:

    >>> conditionals = FactorialConditionals(CRFEnergy(2, 3, 2))
    >>> conditionals(a, b, y=y)["clean"]  # (batch, 2)
    """

    def __init__(self, energy, **kwargs):
        super().__init__(**kwargs)
        if isinstance(energy, dict):
            energy = keras.saving.deserialize_keras_object(energy)
        if not isinstance(energy, CRFEnergy):
            raise ValueError(f"energy must be a CRFEnergy layer, got {type(energy).__name__}.")
        self.energy = energy
        self.built = True

    def latent_logits(self, a, y):
        """Logits of `p(y_hat, h | y, x)`, `(..., C + H)`."""
        return ops.concatenate([self.energy.clean_logits(a, y), self.energy.hidden_logits(y)],
                               axis=-1)

    def noisy_logits(self, b, latent):
        """Logits of `p(y | y_hat, h, x)` from concatenated latent states."""
        y_hat, h = self.energy.split_latent(latent)
        return self.energy.noisy_logits(b, y_hat, h)

    def call(self, a, b, y=None, latent=None):
        probabilities = {}
        if y is not None:
            probabilities["clean"] = ops.sigmoid(self.energy.clean_logits(a, y))
            probabilities["hidden"] = ops.sigmoid(self.energy.hidden_logits(y))
        if latent is not None:
            probabilities["noisy"] = ops.sigmoid(self.noisy_logits(b, latent))
        return probabilities

    def get_config(self):
        config = super().get_config()
        config["energy"] = keras.saving.serialize_keras_object(self.energy)
        return config
