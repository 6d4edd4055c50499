"""The persistent Markov chains of PCD, one set per training example (Section 3.3)."""

import math

import tensorflow as tf
import keras
from keras import ops

from robustcrf.multilabel.energy import check_size
from tf_data.distribute import replica_context


BITS_PER_WORD = 32


def words_per_state(num_units):
    """int32 words that hold `num_units` bits."""
    return math.ceil(num_units / BITS_PER_WORD)


def pack_bits(bits, num_words):
    """Packs `(B, K, S)` {0, 1} states into `(B, K, num_words)` int32 words.

    Bit `s` of a state is bit `s % 32` of word `s // 32` (bit 31 is the
    sign bit; the arithmetic is two's complement, so it round-trips).
    """
    num_chains, size = bits.shape[1], bits.shape[2]
    bits = ops.cast(bits, "int32")
    bits = ops.pad(bits, [[0, 0], [0, 0], [0, num_words * BITS_PER_WORD - size]])
    bits = ops.reshape(bits, (-1, num_chains, num_words, BITS_PER_WORD))
    shifts = ops.arange(BITS_PER_WORD, dtype="int32")
    return ops.sum(ops.left_shift(bits, shifts), axis=-1)


def unpack_bits(words, num_units):
    """Inverse of `pack_bits`: `(B, K, W)` int32 -> `(B, K, num_units)` float32."""
    num_chains, num_words = words.shape[1], words.shape[2]
    shifts = ops.arange(BITS_PER_WORD, dtype="int32")
    bits = ops.bitwise_and(ops.right_shift(words[..., None], shifts), 1)
    bits = ops.reshape(bits, (-1, num_chains, num_words * BITS_PER_WORD))
    return ops.cast(bits[..., :num_units], "float32")


@keras.saving.register_keras_serializable(package="robustcrf")
def asserted_indices(indices, num_examples, message):
    """`indices` behind assertions that they lie in `[0, num_examples)` (graph mode)."""
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(indices, message=message),
        tf.debugging.assert_less(indices, tf.cast(num_examples, indices.dtype), message=message),
    ]):
        return tf.identity(indices)


class ChainBank(keras.layers.Layer):
    """Bit-packed persistent chains for every training example.

    The bank is a non-trainable int32 variable of shape
    `(num_examples, num_chains, ceil(num_units / 32))` (COCO at the paper's
    sizes: 70K examples x 50 chains x 273 units = 9 words, 126 MB instead
    of 955 MB as one byte per unit), saved and restored with the model and
    by `tf.train.Checkpoint`. `read` gathers the chains of a minibatch by
    example index from the variable (no copy of the whole bank); `write`
    scatters the advanced states back in place. Under a `tf.distribute`
    strategy, `write` all-gathers indices and states across replicas and
    every replica scatters all of them into its own copy (aggregation
    NONE), so the copies never diverge and no write is dropped. A second
    variable counts each example's visits (chain advances).

    Args:
        num_examples: training examples (rows of the bank).
        num_chains: persistent chains per example (paper: 50).
        num_units: units per stored state (C + H, or N).

    Call arguments:
        indices: `(B,)` int example indices. Calling reads.

    Returns:
        `(B, num_chains, num_units)` {0, 1} float32 states.

    Example:

    >>> bank = ChainBank(num_examples=1000, num_chains=50, num_units=273)
    >>> states = bank.read(indices)
    >>> bank.write(indices, new_states)
    """

    def __init__(self, num_examples, num_chains, num_units, **kwargs):
        super().__init__(**kwargs)
        self.num_examples = check_size(num_examples, "num_examples")
        self.num_chains = check_size(num_chains, "num_chains")
        self.num_units = check_size(num_units, "num_units")
        self.num_words = words_per_state(self.num_units)
        self.states = self.add_weight(
            shape=(self.num_examples, self.num_chains, self.num_words), dtype="int32",
            initializer="zeros", trainable=False, aggregation="none", name="chain_states")
        self.visits = self.add_weight(
            shape=(self.num_examples,), dtype="int32", initializer="zeros", trainable=False,
            aggregation="none", name="chain_visits")
        self.built = True

    @property
    def nbytes(self):
        """Bytes of chain state held."""
        return self.num_examples * self.num_chains * self.num_words * 4

    def _checked(self, indices):
        indices = ops.cast(indices, "int32")
        if tf.executing_eagerly():
            values = ops.convert_to_numpy(indices)
            if values.size and (values.min() < 0 or values.max() >= self.num_examples):
                raise ValueError(
                    f"Example indices must lie in [0, {self.num_examples}) (the chain bank "
                    f"holds {self.num_examples} examples), got values in "
                    f"[{values.min()}, {values.max()}]. Build the model with num_examples = "
                    "the training split's size and feed the pipeline's 'index'."
                )
            return indices
        return asserted_indices(
            indices, self.num_examples,
            f"example indices must lie in [0, {self.num_examples}) for the chain bank")

    def read(self, indices):
        """States of the chains of `indices`, `(B, num_chains, num_units)`."""
        words = tf.gather(self.states.value, self._checked(indices))
        return unpack_bits(words, self.num_units)

    def write(self, indices, states):
        """Stores `(B, num_chains, num_units)` states for `indices` in place."""
        indices = self._checked(indices)
        words = pack_bits(states, self.num_words)
        context = replica_context()
        if context is not None:
            indices = context.all_gather(indices, axis=0)
            words = context.all_gather(words, axis=0)
        self.states.value.scatter_update(tf.IndexedSlices(words, indices))
        self.visits.value.scatter_add(tf.IndexedSlices(ops.ones_like(indices), indices))

    def call(self, indices):
        return self.read(indices)

    def get_config(self):
        config = super().get_config()
        config.update(num_examples=self.num_examples, num_chains=self.num_chains,
                      num_units=self.num_units)
        return config
