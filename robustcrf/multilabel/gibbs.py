"""Block Gibbs sampling of the bipartite CRF `p(y, y_hat, h | x)` (Section 3.3)."""

import keras
from keras import ops

from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.energy import check_size
from tf_data.distribute import global_batch_draw

STORED_SIDES = ("auto", "latent", "noisy")


def resolve_stored_side(stored_side, num_latent, num_noisy):
    """`"latent"` (store `(y_hat, h)`) or `"noisy"` (store `y`): the smaller.

    Section 4.1: a chain's state on one side of the bipartite graph fixes
    the distribution of the other, so only the smaller side is stored.
    """
    if stored_side not in STORED_SIDES:
        raise ValueError(f"stored_side must be one of {STORED_SIDES}, got {stored_side!r}.")
    if stored_side == "auto":
        return "latent" if num_latent <= num_noisy else "noisy"
    return stored_side


@keras.saving.register_keras_serializable(package="robustcrf")
class BlockGibbsSampler(keras.layers.Layer):
    """Alternates `y ~ p(y | y_hat, h, x)` and `(y_hat, h) ~ p(y_hat, h | y, x)`.

    Both blocks are factorial (Section 3), so one sweep is two matrix
    products and two layers of Bernoulli draws. Draws use `keras.random`
    with the layer's own `SeedGenerator`. Under a `tf.distribute` strategy
    every replica takes its own slice of a draw for all replicas, so
    replicas never reuse each other's random numbers.

    Args:
        conditionals: the `FactorialConditionals` of the CRF.
        stored_side: which block a chain state holds: `"latent"`
            (`(y_hat, h)`, C + H units), `"noisy"` (`y`, N units) or
            `"auto"` (the smaller, as in Section 4.1).
        seed: int seed of the sampler's `SeedGenerator`.

    Call arguments:
        a: `(B, 1, C)` clean unaries (broadcast over chains).
        b: `(B, 1, N)` noisy unaries.
        state: `(B, K, S)` chain states of the stored side, {0, 1} floats.
        num_sweeps: Python int >= 1.

    Returns:
        `(state, y)`: the new stored states and the noisy states `y` of the
        last sweep, a sample of `p(y | x)` when the chains are mixed.

    Example:

    >>> sampler = BlockGibbsSampler(conditionals, seed=0)
    >>> state, y = sampler(a[:, None], b[:, None], state, num_sweeps=100)
    """

    def __init__(self, conditionals, stored_side="auto", seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(conditionals, dict):
            conditionals = keras.saving.deserialize_keras_object(conditionals)
        if not isinstance(conditionals, FactorialConditionals):
            raise ValueError(
                f"conditionals must be FactorialConditionals, got {type(conditionals).__name__}.")
        self.conditionals = conditionals
        energy = conditionals.energy
        self.stored_side = resolve_stored_side(stored_side, energy.num_latent, energy.num_noisy)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Track the generator's state as this layer's own non-trainable
        # variable so `.keras` files and `tf.train.Checkpoint` restore the
        # random stream too (resumed training then draws the same numbers).
        self.seed_state = self.seed_generator.state
        self.built = True

    @property
    def state_size(self):
        """Units per stored chain state: C + H or N."""
        energy = self.conditionals.energy
        return energy.num_latent if self.stored_side == "latent" else energy.num_noisy

    def _uniform(self, like):
        return global_batch_draw(keras.random.uniform, tuple(ops.shape(like)),
                                 seed=self.seed_generator)

    def bernoulli(self, logits):
        """{0, 1} float draws with `P(1) = sigmoid(logits)`."""
        return ops.cast(self._uniform(logits) < ops.sigmoid(logits), logits.dtype)

    def sample_latent(self, a, y):
        """`(y_hat, h) ~ p(y_hat, h | y, x)`, concatenated."""
        return self.bernoulli(self.conditionals.latent_logits(a, y))

    def sample_noisy(self, b, latent):
        """`y ~ p(y | y_hat, h, x)`."""
        return self.bernoulli(self.conditionals.noisy_logits(b, latent))

    def call(self, a, b, state, num_sweeps=1):
        check_size(num_sweeps, "num_sweeps")
        state = ops.cast(state, "float32")
        y = ops.zeros_like(b) + ops.zeros_like(state[..., :1])
        if self.stored_side == "latent":
            def sweep(_, carry):
                latent, _ = carry
                y = self.sample_noisy(b, latent)
                return self.sample_latent(a, y), y
        else:
            def sweep(_, carry):
                y, _ = carry
                y = self.sample_noisy(b, self.sample_latent(a, y))
                return y, y
        return ops.fori_loop(0, num_sweeps, sweep, (state, y))

    def clean_marginals(self, a, b, num_chains, burn_in, num_samples):
        """Monte Carlo `p(y_hat = 1 | x)` (test time, Section 3.3).

        Runs `num_chains` chains per example from the all-zero state for
        `burn_in` sweeps, then averages `p(y_hat | y, x)` over the noisy
        states of `num_samples` further sweeps (Rao-Blackwellised: the
        exact conditional mean replaces the `y_hat` draw).

        Args:
            a: `(B, C)` clean unaries.
            b: `(B, N)` noisy unaries.
            num_chains, burn_in, num_samples: ints (burn_in may be 0).

        Returns:
            `(B, C)` marginals.
        """
        check_size(num_chains, "num_chains")
        check_size(burn_in, "burn_in", minimum=0)
        check_size(num_samples, "num_samples")
        a, b = a[:, None, :], b[:, None, :]
        state = ops.zeros_like(a[..., :1]) + ops.zeros((num_chains, self.state_size))
        if burn_in:
            state, _ = self(a, b, state, num_sweeps=burn_in)
        energy = self.conditionals.energy

        def accumulate(_, carry):
            state, total = carry
            state, y = self(a, b, state, num_sweeps=1)
            return state, total + ops.sigmoid(energy.clean_logits(a, y))

        total = ops.zeros_like(a) + ops.zeros((num_chains, energy.num_clean))
        _, total = ops.fori_loop(0, num_samples, accumulate, (state, total))
        return ops.mean(total, axis=1) / float(num_samples)

    def get_config(self):
        config = super().get_config()
        config.update(conditionals=keras.saving.serialize_keras_object(self.conditionals),
                      stored_side=self.stored_side, seed=self.seed)
        return config
