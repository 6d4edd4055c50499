"""The auxiliary RBM `p_aux(y, y_hat, h)` trained on the clean set (Eq. 6-7)."""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf.multilabel.chain_bank import ChainBank
from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.energy import CRFEnergy
from robustcrf.multilabel.energy import check_size
from robustcrf.multilabel import evaluation
from robustcrf.multilabel.gibbs import BlockGibbsSampler
from robustcrf.multilabel.losses import mean_chain_energy
from robustcrf.multilabel.losses import negative_phase
from robustcrf.multilabel.losses import pcd_surrogate_loss
from tf_data import validation
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import VERIFIED_LABEL_KEY




def data_log_odds(labels, smoothing=1.0):
    """Smoothed `log(p / (1 - p))` of each label's frequency, `(K,)` float32."""
    labels = np.asarray(labels, dtype=np.float64)
    frequency = (labels.sum(axis=0) + smoothing) / (len(labels) + 2.0 * smoothing)
    return np.log(frequency / (1.0 - frequency)).astype(np.float32)


@keras.saving.register_keras_serializable(package="robustcrf")
class AuxiliaryRBM(evaluation.CheckedLabels, keras.Model):
    """RBM over noisy labels, clean labels and hidden units, with no image (Eq. 6-7).

    `E_aux(y, y_hat, h) = -a_aux^T y_hat - b_aux^T y - c_aux^T h
    - y_hat^T W_aux y - h^T W'_aux y`, the CRF's structure with constant
    unaries. Trained on the clean set `(y, y_hat)` by PCD (Tieleman 2008):
    the positive phase uses the exact `p_aux(h | y)`, the negative phase a
    persistent set of fantasy chains (a one-row `ChainBank`). Once trained
    it is frozen and supplies `p_aux(y_hat, h | y)` to the variational
    posterior (Eq. 10-11).

    Args:
        num_clean: C.
        num_noisy: N.
        num_hidden: H (paper: 200).
        num_chains: persistent fantasy chains.
        num_sweeps: Gibbs sweeps per training step.
        seed: int seed of the sampler.

    Call arguments:
        noisy_labels: `(B, N)` {0, 1}.

    Returns:
        `(B, C)` `p_aux(y_hat = 1 | y)`.

    Example:

    >>> rbm = AuxiliaryRBM(num_clean=10, num_noisy=30, num_hidden=32)
    >>> rbm.compile(optimizer="adam")
    >>> rbm.fit({LABEL_KEY: noisy, VERIFIED_LABEL_KEY: clean}, epochs=20)
    """

    def __init__(self, num_clean, num_noisy, num_hidden=200, num_chains=100, num_sweeps=1,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_clean = check_size(num_clean, "num_clean")
        self.num_noisy = check_size(num_noisy, "num_noisy")
        self.num_hidden = check_size(num_hidden, "num_hidden", minimum=0)
        self.num_chains = check_size(num_chains, "num_chains")
        self.num_sweeps = check_size(num_sweeps, "num_sweeps")
        self.seed = seed
        self.energy = CRFEnergy(num_clean, num_noisy, num_hidden, pairwise=True, name="energy")
        self.clean_bias = self.add_weight(shape=(num_clean,), initializer="zeros", name="a_aux")
        self.noisy_bias = self.add_weight(shape=(num_noisy,), initializer="zeros", name="b_aux")
        self.conditionals = FactorialConditionals(self.energy, name="conditionals")
        self.sampler = BlockGibbsSampler(self.conditionals, seed=seed, name="sampler")
        self.fantasy_chains = ChainBank(1, num_chains, self.sampler.state_size,
                                        name="fantasy_chains")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def unaries(self):
        """`(1, C)` and `(1, N)` constant unaries `a_aux`, `b_aux`."""
        return self.clean_bias[None, :], self.noisy_bias[None, :]

    def clean_posterior_logits(self, noisy_labels):
        """Logits of `p_aux(y_hat | y)`."""
        return self.energy.clean_logits(self.clean_bias, noisy_labels)

    def hidden_posterior_logits(self, noisy_labels):
        """Logits of `p_aux(h | y)`."""
        return self.energy.hidden_logits(noisy_labels)

    def call(self, noisy_labels):
        return ops.sigmoid(self.clean_posterior_logits(ops.cast(noisy_labels, "float32")))

    def train_step(self, data):
        y = ops.cast(data[LABEL_KEY], "float32")
        y_hat = ops.cast(data[VERIFIED_LABEL_KEY], "float32")
        with tf.GradientTape() as tape:
            a, b = self.unaries()
            with tape.stop_recording():
                y_negative, y_hat_negative, h_negative = negative_phase(
                    self.energy, self.sampler, self.fantasy_chains, a, b,
                    ops.zeros((1,), "int32"), self.num_sweeps)
                h_positive = ops.sigmoid(self.energy.hidden_logits(y))
            positive = self.energy(a, b, y, y_hat, h_positive)
            negative = mean_chain_energy(self.energy, a, b, y_negative, y_hat_negative,
                                         h_negative)
            # Every clean row has weight 1 / B against the one shared set of
            # fantasy chains: mean(E_pos) - mean(E_neg).
            batch_size = ops.cast(ops.shape(y)[0], "float32")
            loss = pcd_surrogate_loss(positive, negative, ops.ones_like(positive) / batch_size)
        variables = self.trainable_weights
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @classmethod
    def from_config(cls, config):
        # `trainable=False` passed to the constructor does not reach the
        # sublayers created after `super().__init__`; set it once built.
        config = dict(config)
        trainable = config.pop("trainable", True)
        rbm = cls(**config)
        rbm.trainable = trainable
        return rbm

    def get_config(self):
        config = super().get_config()
        config.update(num_clean=self.num_clean, num_noisy=self.num_noisy,
                      num_hidden=self.num_hidden, num_chains=self.num_chains,
                      num_sweeps=self.num_sweeps, seed=self.seed)
        return config


def train_auxiliary_rbm(noisy_labels, clean_labels, num_hidden=200, epochs=30, batch_size=64,
                        learning_rate=0.01, num_chains=100, num_sweeps=1, seed=0, verbose=0):
    """Trains and freezes the auxiliary RBM on the clean set (Section 3.2).

    Visible biases start at the data log-odds (Hinton's practical guide),
    pairwise terms at zero; Adam on the PCD gradient.

    Args:
        noisy_labels: `(n, N)` {0, 1} noisy labels of the clean set.
        clean_labels: `(n, C)` {0, 1} clean labels of the same examples.
        num_hidden, num_chains, num_sweeps, seed: see `AuxiliaryRBM`.
        epochs, batch_size, learning_rate, verbose: of `fit`.

    Returns:
        The trained `AuxiliaryRBM` with `trainable = False`.

    Raises:
        ValueError: empty clean set, labels not in {0, 1}, or different
            numbers of examples.
    """
    if len(np.asarray(clean_labels)) == 0 or len(np.asarray(noisy_labels)) == 0:
        raise ValueError(
            "The auxiliary RBM is trained on the clean set, which is empty. Keep a clean "
            "subset (e.g. tf_data.splits.clean_noisy_split with clean_fraction=0.2)."
        )
    noisy = validation.check_binary_labels(noisy_labels, name="noisy_labels")
    clean = validation.check_binary_labels(clean_labels, name="clean_labels")
    validation.check_same_length(noisy_labels=noisy, clean_labels=clean)
    rbm = AuxiliaryRBM(clean.shape[1], noisy.shape[1], num_hidden, num_chains, num_sweeps, seed)
    rbm.clean_bias.assign(data_log_odds(clean))
    rbm.noisy_bias.assign(data_log_odds(noisy))
    rbm.compile(optimizer=keras.optimizers.Adam(learning_rate))
    # A tf.data shuffle with the RBM's own seed, not fit(shuffle=True), which
    # draws from TensorFlow's global generator and made every run's p_aux
    # (and so every annealed CRF) differ. The last partial batch is kept so
    # every clean example counts in every epoch.
    examples = tf.data.Dataset.from_tensor_slices(
        {LABEL_KEY: noisy.astype(np.float32), VERIFIED_LABEL_KEY: clean.astype(np.float32)})
    batches = examples.shuffle(len(noisy), seed=seed, reshuffle_each_iteration=True).batch(
        min(batch_size, len(noisy)))
    rbm.fit(batches, epochs=epochs, verbose=verbose)
    rbm.trainable = False
    return rbm
