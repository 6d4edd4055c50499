"""The energy of the robust CRF and of its auxiliary RBM (Eq. 2, Eq. 7)."""

import keras
import numpy as np
from keras import ops


def check_size(value, name, minimum=1):
    """Returns `value` as an int >= `minimum`, or raises a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


@keras.saving.register_keras_serializable(package="robustcrf")
class CRFEnergy(keras.layers.Layer):
    """Energy of clean labels, noisy labels and hidden units (Eq. 2).

    `E(y, y_hat, h, x) = -a(x)^T y_hat - b(x)^T y - c^T h - y_hat^T W y
    - h^T W' y` with clean labels `y_hat` in {0,1}^C, noisy labels `y` in
    {0,1}^N and hidden units `h` in {0,1}^H. The layer owns the free
    parameters `c` (H), `W` (C, N) and `W'` (H, N), all starting at zero
    (Section 4.1); the unaries `a` and `b` are inputs, so the same layer
    serves the CNN-CRF (`a(x)`, `b(x)` from a network) and the auxiliary
    RBM (Eq. 7, constant `a`, `b`). The graph is bipartite: `y` on one
    side, `(y_hat, h)` on the other.

    Args:
        num_clean: C, clean categories.
        num_noisy: N, noisy labels.
        num_hidden: H, hidden units; 0 drops `h`, `c` and `W'`.
        pairwise: False drops `W` too (the "no pairwise" variant); then
            `num_hidden` must be 0.

    Call arguments:
        a: `(..., C)` clean unaries.
        b: `(..., N)` noisy unaries.
        y: `(..., N)` noisy states in [0, 1] (binary, or expectations:
            the energy is linear in each block).
        y_hat: `(..., C)` clean states.
        h: `(..., H)` hidden states, or None to leave out the hidden
            terms `-c^T h - h^T W' y` (used for free energies).

    Returns:
        `(...)` energies.

    Example:

    >>> energy = CRFEnergy(num_clean=2, num_noisy=3, num_hidden=2)
    >>> e = energy(a, b, y, y_hat, h)  # shape (batch,)
    """

    def __init__(self, num_clean, num_noisy, num_hidden=0, pairwise=True, **kwargs):
        super().__init__(**kwargs)
        self.num_clean = check_size(num_clean, "num_clean")
        self.num_noisy = check_size(num_noisy, "num_noisy")
        self.num_hidden = check_size(num_hidden, "num_hidden", minimum=0)
        self.pairwise = bool(pairwise)
        if not self.pairwise and self.num_hidden:
            raise ValueError(
                "A CRF without pairwise terms has no hidden units (W' is pairwise); "
                f"got num_hidden={num_hidden}. Pass num_hidden=0 or pairwise=True."
            )
        self.clean_noisy_kernel = None
        self.hidden_noisy_kernel = None
        self.hidden_bias = None
        if self.pairwise:
            self.clean_noisy_kernel = self.add_weight(
                shape=(self.num_clean, self.num_noisy), initializer="zeros", name="W")
        if self.num_hidden:
            self.hidden_noisy_kernel = self.add_weight(
                shape=(self.num_hidden, self.num_noisy), initializer="zeros", name="W_prime")
            self.hidden_bias = self.add_weight(
                shape=(self.num_hidden,), initializer="zeros", name="c")
        self.built = True

    @property
    def num_latent(self):
        """C + H: the units on the `(y_hat, h)` side of the bipartite graph."""
        return self.num_clean + self.num_hidden

    def clean_logits(self, a, y):
        """Logits of `p(y_hat_i = 1 | y, x) = sigmoid(a_i + W_i y)` (Section 3)."""
        if not self.pairwise:
            return a + ops.zeros_like(y[..., :1])
        return a + ops.matmul(y, ops.transpose(self.clean_noisy_kernel))

    def hidden_logits(self, y):
        """Logits of `p(h_j = 1 | y) = sigmoid(c_j + W'_j y)`; `(..., 0)` if H = 0."""
        if not self.num_hidden:
            return y[..., :0]
        return self.hidden_bias + ops.matmul(y, ops.transpose(self.hidden_noisy_kernel))

    def noisy_logits(self, b, y_hat, h):
        """Logits of `p(y_k = 1 | y_hat, h, x) = sigmoid(b_k + W_:k^T y_hat + W'_:k^T h)`."""
        logits = b + ops.zeros_like(y_hat[..., :1])
        if self.pairwise:
            logits = logits + ops.matmul(y_hat, self.clean_noisy_kernel)
        if self.num_hidden:
            logits = logits + ops.matmul(h, self.hidden_noisy_kernel)
        return logits

    def split_latent(self, latent):
        """Splits `(..., C + H)` latent states into `(y_hat, h)`."""
        return latent[..., : self.num_clean], latent[..., self.num_clean:]

    def call(self, a, b, y, y_hat, h=None):
        energy = -ops.sum(a * y_hat, axis=-1) - ops.sum(b * y, axis=-1)
        if self.pairwise:
            energy = energy - ops.sum(
                y_hat * ops.matmul(y, ops.transpose(self.clean_noisy_kernel)), axis=-1)
        if self.num_hidden and h is not None:
            energy = energy - ops.sum(h * self.hidden_logits(y), axis=-1)
        return energy

    def get_config(self):
        config = super().get_config()
        config.update(num_clean=self.num_clean, num_noisy=self.num_noisy,
                      num_hidden=self.num_hidden, pairwise=self.pairwise)
        return config
