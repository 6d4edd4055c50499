"""The robust CNN-CRF for multilabel data, trained by PCD (Sections 3.1-3.3, Algorithm 1)."""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf.alpha_annealing import check_alpha
from robustcrf.multilabel.auxiliary import AuxiliaryRBM
from robustcrf.multilabel.chain_bank import ChainBank
from robustcrf.multilabel.chain_bank import asserted_indices
from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.energy import CRFEnergy
from robustcrf.multilabel.energy import check_size
from robustcrf.multilabel.gibbs import BlockGibbsSampler
from robustcrf.multilabel import evaluation
from robustcrf.multilabel import exact
from robustcrf.multilabel.losses import mean_chain_energy
from robustcrf.multilabel.losses import negative_phase
from robustcrf.multilabel.losses import pcd_surrogate_loss
from robustcrf.multilabel.losses import check_clean_weighting
from robustcrf.multilabel.losses import set_weights
from robustcrf.multilabel.metrics import MeanAveragePrecision
from robustcrf.regularised_posterior import geometric_mean_logits
from tf_data import validation
from tf_data.distribute import global_value
from tf_data.distribute import replica_share
from tf_data.distribute import replica_sum
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import INDEX_KEY
from tf_data.batch_keys import IS_CLEAN_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import VERIFIED_LABEL_KEY




def build_heads(backbone, heads, input_shape=None):
    """Builds unbuilt `heads` on the backbone's features (known for functional backbones)."""
    if input_shape is not None:
        features = backbone.compute_output_shape(tuple(input_shape))
    else:
        try:
            features = tuple(backbone.output_shape)
        except (AttributeError, ValueError):  # A subclassed backbone: build on first call.
            return
    for head in heads:
        if head is not None and not head.built:
            head.build(features)


PREDICT_INFERENCE_MODES = ("auto", "exact", "gibbs")


def check_predict_inference(mode, num_noisy):
    """Returns `mode` if it is a valid `predict_inference` for N noisy labels, else raises."""
    if mode not in PREDICT_INFERENCE_MODES:
        raise ValueError(
            f"predict_inference must be one of {PREDICT_INFERENCE_MODES}, got {mode!r}.")
    if mode == "exact":
        exact.check_enumerable(num_noisy)
    return mode


def _deserialized(value):
    return keras.saving.deserialize_keras_object(value) if isinstance(value, dict) else value


@keras.saving.register_keras_serializable(package="robustcrf")
class RobustMultilabelCRF(evaluation.CheckedLabels, keras.Model):
    """CNN-CRF over clean labels, noisy labels and hidden units (Eq. 1-2).

    A backbone gives pooled features; linear heads give the unaries `a(x)`
    (clean) and `b(x)` (noisy), or `b` is a free vector (no x-y link). A
    `CRFEnergy` holds `c`, `W`, `W'`. Training (Algorithm 1) maximises the
    bounds of Eq. 8: per minibatch of clean and noisy examples, the
    positive phase uses the factorial variational posterior `q` (Eq. 10
    for noisy examples, Eq. 11 for clean ones, with the frozen auxiliary
    RBM weighted by the non-trainable variable `alpha`), the negative
    phase uses the states of persistent chains (a `ChainBank` with
    `num_chains` chains per training example) advanced by `num_sweeps`
    block-Gibbs sweeps, gathered and written back by example index. The
    gradient is that of `pcd_surrogate_loss` (Eq. 12-13). Without pairwise
    terms the model factorises and the negative phase is exact
    (`E_p[y_hat] = sigmoid(a)`, `E_p[y] = sigmoid(b)`), no sampling.
    The PCD gradient is noisy (minibatches and chain samples); compiling
    with an optimizer that averages the weights (`use_ema=True`, as Table
    1's default recipe does) damps that noise in the final model.

    Training batches are dicts: `image`, `index` (row in the training
    split), `label` (noisy `y`), `verified_label` (clean `y_hat`, read only
    where `is_clean`), `is_clean`; see `robustcrf.multilabel.data`.

    Args:
        backbone: a Keras model mapping images to a feature vector.
        num_clean: C.
        num_noisy: N.
        num_examples: training examples (chain bank rows); required with
            pairwise terms.
        auxiliary: a trained `AuxiliaryRBM` over the same vocabularies (and,
            with hidden units, the same H), or None (then `q = p_theta`).
        num_hidden: H; 0 for the "CRF w/o hidden" variant.
        pairwise: False for the "no pairwise" variant.
        noisy_from_image: False for the "w/o x-y link" variant.
        alpha: initial value of the `alpha` variable (Eq. 9); annealed
            by `robustcrf.alpha_annealing.AlphaAnnealing`.
        num_chains: persistent chains per example (paper: 50).
        num_sweeps: Gibbs sweeps per training step (paper: 100).
        stored_side: `"auto"`, `"latent"` or `"noisy"`; see `BlockGibbsSampler`.
        predict_inference: how `call` computes `p(y_hat | x)` (Section
            3.3): `"exact"` sums over the `2^N` noisy configurations
            (`robustcrf.multilabel.exact.clean_marginals`; N at most
            `exact.MAX_ENUMERATED_NOISY`), `"gibbs"` estimates it by block
            Gibbs sampling (the paper's way, for any N), `"auto"` (default)
            is exact where N allows it and Gibbs otherwise. Exact marginals
            are deterministic (a SavedModel serves the same scores for the
            same input); at yeast's N = 14 they also take less time than the
            default Gibbs counts (`bench/pcd_sampler.py`).
        predict_chains, predict_burn_in, predict_samples: the Gibbs
            estimate: chains per example, sweeps discarded, sweeps averaged
            (Rao-Blackwellised). Monte Carlo error in the marginals
            reorders examples and lowers mAP; the defaults (50, 100, 100)
            came within 0.1 mAP points of exact enumeration on yeast, where
            with 10 chains x 20 samples two draws for the same model
            differed by up to 0.9 (README, Table 1).
        seed: int seed of the sampler.
        clean_weighting: how the clean set `D_C` and the noisy set `D_N`
            share each minibatch's loss: `"per_set"` (the paper's Eq. 3 and
            8: each set's mean, so a clean example weighs `|D_N| / |D_C|`
            noisy ones) or `"per_example"` (every example alike: the
            log-likelihood of the pooled training set, when the batches
            hold `D_C` and `D_N` in proportion to their sizes,
            `data.proportional_clean_per_batch`). See the README's
            Table 1 for where each wins.

    Call arguments:
        images: `(B, H, W, ch)` images.
        training: forwarded to the backbone.

    Returns:
        `(B, C)` marginals `p(y_hat = 1 | x)` (exact or a Gibbs estimate, see
        `predict_inference`; exact for the no-pairwise variant).

    Example:

    >>> rbm = train_auxiliary_rbm(noisy_clean_set, clean_clean_set, num_hidden=200)
    >>> model = RobustMultilabelCRF(backbone, 73, 1000, num_examples=87000,
    ...                             auxiliary=rbm, num_hidden=200, alpha=40.0)
    >>> model.compile(optimizer=keras.optimizers.Adam(3e-4, epsilon=0.1))
    >>> model.fit(train_batches, epochs=20, steps_per_epoch=steps,
    ...           callbacks=[AlphaAnnealing(40.0, 0.5, fraction=0.5)])
    """

    def __init__(self, backbone, num_clean, num_noisy, num_examples=None, auxiliary=None,
                 num_hidden=0, pairwise=True, noisy_from_image=True, alpha=0.0, num_chains=50,
                 num_sweeps=100, stored_side="auto", predict_inference="auto", predict_chains=50,
                 predict_burn_in=100, predict_samples=100, seed=None, clean_weighting="per_set",
                 **kwargs):
        super().__init__(**kwargs)
        self.backbone = _deserialized(backbone)
        self.auxiliary = _deserialized(auxiliary)
        self.num_clean = check_size(num_clean, "num_clean")
        self.num_noisy = check_size(num_noisy, "num_noisy")
        self.num_hidden = check_size(num_hidden, "num_hidden", minimum=0)
        self.pairwise = bool(pairwise)
        self.noisy_from_image = bool(noisy_from_image)
        self.num_chains = check_size(num_chains, "num_chains")
        self.num_sweeps = check_size(num_sweeps, "num_sweeps")
        self.stored_side = stored_side
        self.predict_inference = check_predict_inference(predict_inference, self.num_noisy)
        self.predict_chains = check_size(predict_chains, "predict_chains")
        self.predict_burn_in = check_size(predict_burn_in, "predict_burn_in", minimum=0)
        self.predict_samples = check_size(predict_samples, "predict_samples")
        self.seed = seed
        self.clean_weighting = check_clean_weighting(clean_weighting)
        self.num_examples = (None if num_examples is None
                             else check_size(num_examples, "num_examples"))
        self._check_auxiliary(alpha)
        self.energy = CRFEnergy(num_clean, num_noisy, num_hidden, pairwise, name="energy")
        self.conditionals = FactorialConditionals(self.energy, name="conditionals")
        self.sampler = BlockGibbsSampler(self.conditionals, stored_side, seed, name="sampler")
        self.chain_bank = None
        if self.pairwise:
            if num_examples is None:
                raise ValueError(
                    "A CRF with pairwise terms keeps persistent chains per training example: "
                    "pass num_examples (the training split's size).")
            self.chain_bank = ChainBank(self.num_examples, num_chains, self.sampler.state_size,
                                        name="chain_bank")
        self.clean_head = keras.layers.Dense(num_clean, name="clean_head")
        self.noisy_head = None
        self.noisy_bias = None
        if self.noisy_from_image:
            self.noisy_head = keras.layers.Dense(num_noisy, name="noisy_head")
        else:
            self.noisy_bias = self.add_weight(shape=(num_noisy,), initializer="zeros", name="b")
        self.alpha = self.add_weight(shape=(), trainable=False, name="alpha",
                                     initializer=keras.initializers.Constant(float(alpha)))
        self.map_metric = MeanAveragePrecision(self.num_clean, name=evaluation.MAP_NAME)
        build_heads(self.backbone, (self.clean_head, self.noisy_head))
        self.built = all(head is None or head.built for head in (self.clean_head, self.noisy_head))

    def _check_auxiliary(self, alpha):
        alpha = check_alpha(alpha)
        aux = self.auxiliary
        if aux is None:
            if alpha > 0:
                raise ValueError(
                    "alpha > 0 weights an auxiliary distribution (Eq. 9), but auxiliary is "
                    "None. Train one with train_auxiliary_rbm on the clean set, or use alpha=0.")
            return
        if not isinstance(aux, AuxiliaryRBM):
            raise ValueError(f"auxiliary must be an AuxiliaryRBM, got {type(aux).__name__}.")
        if (aux.num_clean, aux.num_noisy) != (self.num_clean, self.num_noisy):
            raise ValueError(
                f"The auxiliary RBM has vocabularies (C={aux.num_clean}, N={aux.num_noisy}) but "
                f"the model (C={self.num_clean}, N={self.num_noisy}); they must match.")
        if self.num_hidden and aux.num_hidden != self.num_hidden:
            raise ValueError(
                f"q(h | y) combines the model's and the auxiliary RBM's hidden units (Eq. 10), "
                f"so num_hidden ({self.num_hidden}) must equal the RBM's ({aux.num_hidden}).")

    def build(self, input_shape):
        build_heads(self.backbone, (self.clean_head, self.noisy_head), input_shape)
        self.built = True

    def start_from_auxiliary(self):
        """Sets the CRF's energy to the auxiliary RBM's, so `q` starts at `p_aux` (Eq. 7, 10).

        The RBM has the same energy as this CRF with constant unaries:
        its coupling `W` (and, with the same hidden units, `W'` and `c`)
        is copied, the noisy side's bias `b` takes the RBM's `b_aux`, and
        the clean head's bias the RBM's `a_aux` (the heads' kernels keep
        their initial values). The paper starts the pairwise terms at zero
        (Section 4.1); starting here instead lifted the CRF w/o x-y link on
        yeast, where `p_aux` is worth keeping, by 1.5 / 1.5 / 1.1 mAP points
        at flip_off 0.2 / 0.4 / 0.6 (without weight averaging; README,
        Table 1). Call it once, before training.

        Raises:
            ValueError: without an auxiliary RBM, or before the heads are
                built (a subclassed backbone builds them on its first call).
        """
        aux = self.auxiliary
        if aux is None:
            raise ValueError("start_from_auxiliary needs the model's auxiliary RBM.")
        heads = [head for head in (self.clean_head, self.noisy_head) if head is not None]
        if not all(head.built for head in heads):
            raise ValueError("Build the model first (call it on a batch of inputs): the heads "
                             "take the auxiliary RBM's biases.")
        if self.pairwise:
            self.energy.clean_noisy_kernel.assign(aux.energy.clean_noisy_kernel)
        if self.num_hidden:
            self.energy.hidden_noisy_kernel.assign(aux.energy.hidden_noisy_kernel)
            self.energy.hidden_bias.assign(aux.energy.hidden_bias)
        noisy_bias = self.noisy_bias if self.noisy_head is None else self.noisy_head.bias
        noisy_bias.assign(aux.noisy_bias)
        self.clean_head.bias.assign(aux.clean_bias)

    def unaries(self, images, training=False):
        """`a(x)` `(B, C)` and `b(x)` `(B, N)` of Eq. 2."""
        features = self.backbone(images, training=training)
        a = self.clean_head(features)
        if self.noisy_head is not None:
            return a, self.noisy_head(features)
        return a, ops.zeros_like(a[:, :1]) + self.noisy_bias

    def posterior_logits(self, a, y):
        """Logits of `q(y_hat | y, x)` and `q(h | y)` (Eq. 10, 11)."""
        clean = self.energy.clean_logits(a, y)
        hidden = self.energy.hidden_logits(y)
        if self.auxiliary is not None:
            alpha = ops.cast(self.alpha, clean.dtype)
            clean = geometric_mean_logits(clean, self.auxiliary.clean_posterior_logits(y), alpha)
            if self.num_hidden:
                hidden = geometric_mean_logits(
                    hidden, self.auxiliary.hidden_posterior_logits(y), alpha)
        return clean, hidden

    def posterior_clean(self, images, noisy_labels):
        """`q(y_hat = 1 | y, x)` (Eq. 10): the inferred clean labels of noisy examples."""
        a, _ = self.unaries(images, training=False)
        clean, _ = self.posterior_logits(a, ops.cast(noisy_labels, a.dtype))
        return ops.sigmoid(clean)

    def negative_statistics(self, a, b, indices):
        """Model expectations for the negative phase of Eq. 12-13.

        With pairwise terms: advances the example's persistent chains by
        `num_sweeps` sweeps, writes them back, and returns the noisy states
        `y` `(B, K, N)` with the exact conditional means of `y_hat` and `h`
        given them (Rao-Blackwellised). Without: the exact means
        `sigmoid(b)`, `sigmoid(a)` as one "chain".
        """
        if not self.pairwise:
            return ops.sigmoid(b)[:, None], ops.sigmoid(a)[:, None], a[:, None, :0]
        return negative_phase(self.energy, self.sampler, self.chain_bank, a, b, indices,
                              self.num_sweeps)

    def uses_exact_inference(self):
        """Whether `call` enumerates the noisy configurations (see `predict_inference`)."""
        if self.predict_inference == "auto":
            return self.num_noisy <= exact.MAX_ENUMERATED_NOISY
        return self.predict_inference == "exact"

    def call(self, images, training=False):
        a, b = self.unaries(images, training=training)
        if not self.pairwise:
            return ops.sigmoid(a)
        if self.uses_exact_inference():
            return exact.clean_marginals(self.energy, a, b)
        return self.sampler.clean_marginals(a, b, self.predict_chains, self.predict_burn_in,
                                            self.predict_samples)

    def _check_batch(self, y, y_hat):
        if y.shape[-1] != self.num_noisy or y_hat.shape[-1] != self.num_clean:
            raise ValueError(
                f"Batches carry {y.shape[-1]} noisy and {y_hat.shape[-1]} clean labels but the "
                f"model has N={self.num_noisy}, C={self.num_clean}; the vocabulary sizes "
                "must match.")

    def phase_statistics(self, a, b, data):
        """States of both phases for a minibatch, all constants (Algorithm 1).

        Advances the chains of the batch (negative phase) and computes `q`
        (positive phase): observed `y_hat` for clean examples, `q(y_hat |
        y, x)` (Eq. 10) for noisy ones, `q(h | y)` (Eq. 10-11) for all.

        Args:
            a, b: `(B, C)`, `(B, N)` unaries, held constant.
            data: the batch dict.

        Returns:
            A dict of `(B, ...)` tensors: `clean_posterior` (Eq. 10's `q`
            for every row), `y_hat_positive`, `h_positive`,
            `y_negative`, `y_hat_negative`, `h_negative` (chains on axis 1)
            and `weights` (`set_weights` under `clean_weighting`).
        """
        y = ops.cast(data[LABEL_KEY], "float32")
        observed_clean = ops.cast(data[VERIFIED_LABEL_KEY], "float32")
        self._check_batch(y, observed_clean)
        is_clean = ops.cast(data[IS_CLEAN_KEY], "float32")
        y_negative, y_hat_negative, h_negative = self.negative_statistics(a, b, data[INDEX_KEY])
        clean_logits, hidden_logits = self.posterior_logits(a, y)
        num_clean = replica_sum(ops.sum(is_clean))
        num_noisy = replica_sum(ops.sum(1.0 - is_clean))
        clean_posterior = ops.sigmoid(clean_logits)
        return {
            "clean_posterior": clean_posterior,
            "y_hat_positive": ops.where(is_clean[:, None] > 0, observed_clean, clean_posterior),
            "h_positive": ops.sigmoid(hidden_logits),
            "y_negative": y_negative,
            "y_hat_negative": y_hat_negative,
            "h_negative": h_negative,
            "weights": set_weights(is_clean, num_clean, num_noisy, self.clean_weighting),
        }

    def surrogate_loss(self, a, b, noisy_labels, statistics):
        """`pcd_surrogate_loss` of the batch: its gradient is minus Eq. 12-13's."""
        y = ops.cast(noisy_labels, a.dtype)
        positive = self.energy(a, b, y, statistics["y_hat_positive"], statistics["h_positive"])
        negative = mean_chain_energy(self.energy, a, b, statistics["y_negative"],
                                     statistics["y_hat_negative"], statistics["h_negative"])
        return pcd_surrogate_loss(positive, negative, statistics["weights"])

    def train_step(self, data):
        with tf.GradientTape() as tape:
            a, b = self.unaries(data[IMAGE_KEY], training=True)
            with tape.stop_recording():
                statistics = self.phase_statistics(ops.stop_gradient(a), ops.stop_gradient(b),
                                                   data)
            loss = self.surrogate_loss(a, b, data[LABEL_KEY], statistics)
            if self.losses:
                loss = loss + replica_share(ops.sum(self.losses))
        variables = self.trainable_weights
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        # The user's compiled metrics see q(y_hat | y, x) (Eq. 10) against the
        # verified labels of the clean-set rows.
        return evaluation.training_logs(
            self, data[IMAGE_KEY], data[VERIFIED_LABEL_KEY], statistics["clean_posterior"],
            ops.cast(data[IS_CLEAN_KEY], "float32"), global_value(loss))

    def _checked_indices(self, batch):
        message = (f"example indices must lie in [0, {self.num_examples}), the rows of the "
                   "chain bank; build the model with num_examples = the training split's size")
        return dict(batch, **{INDEX_KEY: asserted_indices(batch[INDEX_KEY], self.num_examples,
                                                          message)})

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; a `tf.data` input is checked for out-of-bank indices.

        The check runs in the input pipeline, so it holds even when the
        train step is XLA-compiled (XLA drops assertions and clamps gathers).
        The labels are checked to be 0 or 1 (`evaluation.CheckedLabels`).
        """
        if self.chain_bank is not None and isinstance(x, tf.data.Dataset):
            x = x.map(self._checked_indices)
        return super().fit(x, y, *args, **kwargs)

    def test_step(self, data):
        """Clean labels against the marginals `p(y_hat | x)` (exact or Gibbs, as
        `predict_inference` says): loss, `map`, compiled metrics
        (`robustcrf.multilabel.evaluation`)."""
        return evaluation.evaluation_step(self, data)

    def label_issues(self, x, y, batch_size=256):
        """Ranks examples by how likely one of their given labels is wrong.

        Uses Eq. 10's `q(y_hat | y, x)` at the current alpha: the suggested
        labels are `q > 0.5` and the score `max_k |y_k - q_k|`, the
        probability that the most doubtful label of the example is wrong.
        Needs the same noisy and clean vocabulary (N = C).

        Args:
            x: `(n, ...)` inputs.
            y: `(n, N)` given multi-hot labels.
            batch_size: examples per forward pass.

        Returns:
            A `tf_data.LabelIssues`, most suspicious first.

        Example:

        >>> model.label_issues(x_train, noisy_labels).flagged().to_csv("suspects.csv")
        """
        labels = validation.check_binary_labels(y, self.num_noisy, "y")
        inputs = np.asarray(x)
        validation.check_same_length(x=inputs, y=labels)
        q = np.concatenate([
            ops.convert_to_numpy(self.posterior_clean(inputs[i:i + batch_size],
                                                      labels[i:i + batch_size]))
            for i in range(0, len(inputs), batch_size)])
        return evaluation.label_issues(q, labels, self.num_noisy, self.num_clean)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes a SavedModel whose `serve(x)` returns `p(y_hat = 1 | x)` over clean labels."""
        return evaluation.export(self, filepath, format=format, verbose=verbose,
                                 input_signature=input_signature, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            backbone=keras.saving.serialize_keras_object(self.backbone),
            auxiliary=(None if self.auxiliary is None
                       else keras.saving.serialize_keras_object(self.auxiliary)),
            num_clean=self.num_clean, num_noisy=self.num_noisy, num_examples=self.num_examples,
            num_hidden=self.num_hidden, pairwise=self.pairwise,
            noisy_from_image=self.noisy_from_image,
            alpha=float(keras.ops.convert_to_numpy(self.alpha)), num_chains=self.num_chains,
            num_sweeps=self.num_sweeps, stored_side=self.stored_side,
            predict_inference=self.predict_inference, predict_chains=self.predict_chains,
            predict_burn_in=self.predict_burn_in, predict_samples=self.predict_samples,
            seed=self.seed,
            clean_weighting=self.clean_weighting)
        return config
