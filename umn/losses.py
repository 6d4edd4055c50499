"""Small pure functions for the UMN objective (Eq. 5-11) and its baselines.

Every function takes and returns `keras.ops` tensors (NumPy arrays work too)
and has no state, so each can be checked against a NumPy closed form.
Shapes: `B` examples, `C` classes, `D` latent or pixel dimensions.
"""

import math

from keras import ops

from tf_data.classification import cross_entropy_from_logits
from tf_data.classification import given_label_values
from tf_data.distribute import replica_mean_share


LOG_2PI = math.log(2.0 * math.pi)
PROBABILITY_FLOOR = 1e-7


def gaussian_kl_to_standard_normal(mean, log_var):
    """`KL(N(mean, exp(log_var)) || N(0, I))`, summed over the last axis.

    The `KL(q(z_b | z_a, y) || p(z_b))` term of Eq. 5 with `p(z_b) = N(0, I)`.

    Args:
        mean: `(..., D)` means.
        log_var: `(..., D)` log variances.

    Returns:
        `(...)`: `0.5 * sum(exp(log_var) + mean^2 - 1 - log_var)`.

    Example:

    >>> gaussian_kl_to_standard_normal(np.zeros((1, 3)), np.zeros((1, 3)))
    0.0
    """
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def gaussian_log_density(x, mean, log_var):
    """`log N(x; mean, diag(exp(log_var)))`, summed over the last axis.

    Used for `log p(z_a | z_b, y)` in Eq. 5 and the continuous pixel
    likelihood of the SVHN / CIFAR-10 decoder.

    Args:
        x: `(..., D)` points.
        mean, log_var: `(..., D)` parameters (broadcastable to `x`).

    Returns:
        `(...)` log densities.
    """
    return -0.5 * ops.sum(
        LOG_2PI + log_var + ops.square(x - mean) * ops.exp(-log_var), axis=-1
    )


def gaussian_entropy(log_var):
    """Entropy of `N(., diag(exp(log_var)))`, summed over the last axis.

    The `- E_q log q(z_a | x)` term of Eq. 5, taken in closed form.

    Returns:
        `(...)`: `0.5 * sum(log(2 pi e) + log_var)`.
    """
    return 0.5 * ops.sum(LOG_2PI + 1.0 + log_var, axis=-1)


def m1_elbo(reconstruction, za, za_log_var):
    """M1's one-sample bound with the standard normal prior on `z_a`.

    `log p(x | z_a) + log N(z_a; 0, I) - log q(z_a | x)`, with the entropy
    of `q(z_a | x)` in closed form (Kingma et al. 2014, M1; the bound
    `UncertaintyMiningNet(m1_warmup=...)` trains first). Its expectation
    over `z_a ~ q(z_a | x)` is `E[log p(x | z_a)] - KL(q(z_a | x) || N(0, I))`.

    Args:
        reconstruction: `(B,)` values `log p(x | z_a)`.
        za: `(B, D)` codes drawn from `q(z_a | x)` (or its mean).
        za_log_var: `(B, D)` log variances of `q(z_a | x)`.

    Returns:
        `(B,)` bounds.

    Example:

    >>> m1_elbo(np.zeros(1), np.zeros((1, 2)), np.zeros((1, 2)))   # = 1: entropy - log 2 pi
    1.0
    """
    prior = gaussian_log_density(za, ops.zeros_like(za), ops.zeros_like(za))
    return reconstruction + prior + gaussian_entropy(za_log_var)


def flatten_examples(x):
    """Reshapes `(B, ...)` to `(B, prod(...))`."""
    return ops.reshape(x, (ops.shape(x)[0], -1))


def bernoulli_log_likelihood(x, logits):
    """`log p(x | z_a)` for a Bernoulli decoder, summed over pixels (Eq. 1).

    Targets may be grey levels in [0, 1] (continuous Bernoulli-style
    cross-entropy, as Kingma et al. 2014 used for MNIST).

    Args:
        x: `(B, ...)` targets in [0, 1].
        logits: `(B, ...)` decoder outputs, same shape.

    Returns:
        `(B,)`: `sum(x * logits - softplus(logits))`.
    """
    x = flatten_examples(x)
    logits = flatten_examples(logits)
    return ops.sum(x * logits - ops.softplus(logits), axis=-1)


def gaussian_pixel_log_likelihood(x, mean, log_var):
    """`log p(x | z_a)` for the Gaussian decoder of SVHN / CIFAR-10 (Eq. 1).

    Args:
        x: `(B, H, W, K)` targets.
        mean: `(B, H, W, K)` decoder means.
        log_var: log variance broadcastable to `x` (a learned per-channel
            vector in `StackedVae`).

    Returns:
        `(B,)` log densities summed over pixels.
    """
    log_var = ops.broadcast_to(log_var, ops.shape(x))
    return gaussian_log_density(flatten_examples(x), flatten_examples(mean),
                                flatten_examples(log_var))


def categorical_kl_to_uniform(probs):
    """`KL(q(y | z_a) || Uniform(C))`, the second term of Eq. 5.

    Args:
        probs: `(B, C)` class probabilities.

    Returns:
        `(B,)`: `sum(q log q) + log C`.
    """
    num_classes = probs.shape[-1]
    log_probs = ops.log(ops.maximum(probs, PROBABILITY_FLOOR))
    return ops.sum(probs * log_probs, axis=-1) + math.log(num_classes)


def unlabelled_elbo(class_probs, per_class_elbo):
    """The class-marginalised M2 bound of Eq. 5 for one `z_a`.

    `U(z_a) = sum_y q(y | z_a) L(z_a, y) - KL(q(y | z_a) || p(y))` with
    uniform `p(y)`, where `L(z_a, y) = E_q(z_b) log p(z_a | z_b, y) -
    KL(q(z_b | z_a, y) || p(z_b))`.

    Args:
        class_probs: `(B, C)` classifier probabilities `q(y | z_a)`.
        per_class_elbo: `(B, C)` values `L(z_a, y)` for every class y.

    Returns:
        `(B,)` bounds.

    Example:

    >>> unlabelled_elbo(np.full((1, 2), 0.5), np.zeros((1, 2)))
    0.0
    """
    return ops.sum(class_probs * per_class_elbo, axis=-1) - categorical_kl_to_uniform(
        class_probs
    )


def max_finite_uncertainty(num_classes):
    """`(C - 1) / C`: above it `f(eps)` of Eq. 9 turns negative."""
    return (num_classes - 1.0) / num_classes


def check_uncertainty_clip(low, high, num_classes):
    """Validates the clip interval of eps; returns `(low, high)` as floats.

    `f(eps) = log[(C - 1)(1 - eps) / eps]` is finite and positive exactly on
    `0 < eps < (C - 1) / C`, so we need `0 < low < high < (C - 1) / C`.

    Raises:
        ValueError: if the interval would make `f` infinite or non-positive.
    """
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise ValueError(
            f"uncertainty_clip must be two numbers (low, high), got {(low, high)!r}."
        ) from None
    limit = max_finite_uncertainty(num_classes)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"uncertainty_clip must be finite, got ({low}, {high}).")
    if low <= 0.0:
        raise ValueError(
            f"uncertainty_clip low={low} makes f(eps) = log[(C-1)(1-eps)/eps] "
            "infinite at eps=0; choose a small positive value such as 1e-3."
        )
    if high >= limit:
        raise ValueError(
            f"uncertainty_clip high={high} makes f(eps) <= 0 (f reaches 0 at "
            f"eps=(C-1)/C={limit:.4g} for C={num_classes}); choose high < {limit:.4g}."
        )
    if low >= high:
        raise ValueError(
            f"uncertainty_clip needs low < high, got low={low}, high={high}."
        )
    return low, high


def noisy_label_weight(eps, num_classes):
    """The per-sample weight `f(eps) = log[(C - 1)(1 - eps) / eps]` (Eq. 7, 9).

    Finite and positive for `0 < eps < (C - 1) / C` and strictly decreasing
    there: trusted labels (small eps) weigh more.

    Args:
        eps: `(B,)` label uncertainties, already clipped.
        num_classes: C.

    Returns:
        `(B,)` weights.

    Example:

    >>> noisy_label_weight(np.array([0.1]), 10)  # log(81)
    array([4.394...])
    """
    return ops.log((num_classes - 1.0) * (1.0 - eps) / eps)


def rate_scaled_label_weight(noise_rate, num_classes, uncertainty_clip):
    """The labelled term's scale for a set with `noise_rate` wrong labels.

    `f(clip(rate)) / f(low)` with `f` of Eq. 9 and `(low, high)` the eps clip:
    the weight the M-VAE (Langevin et al.) gives every label at corruption
    rate `rho = rate`, relative to a fully trusted label (eps = 0, clipped to
    `low`). UMN multiplies its per-example `f(eps)` by it, so the labelled
    term as a whole weighs less against the unlabelled bound the noisier the
    set is (`UncertaintyMiningNet(noise_rate=...)`). 1 at `rate <= low`; a
    negative rate means "unknown" and also gives 1.

    Args:
        noise_rate: scalar rate in [0, 1), or negative for unknown.
        num_classes: C.
        uncertainty_clip: `(low, high)`, as checked by `check_uncertainty_clip`.

    Returns:
        A float32 scalar in `(0, 1]`.

    Example:

    >>> rate_scaled_label_weight(0.1, 10, (0.01, 0.8))  # log(81) / log(891)
    0.6469...
    """
    low, high = uncertainty_clip
    rate = ops.convert_to_tensor(noise_rate, "float32")
    scale = noisy_label_weight(ops.clip(rate, low, high), num_classes) / noisy_label_weight(
        ops.convert_to_tensor(low, "float32"), num_classes)
    return ops.where(rate < 0.0, ops.ones_like(scale), scale)


LABEL_TERM_FORMS = ("linear", "log")


def noisy_label_log_likelihood(probs, labels, eps, num_classes, form="linear", logits=None):
    """The labelled term of Eq. 5 with the noisy-label model of Eq. 9.

    `sum_k q(y_k | z_a) log p(y_obs | y_k, z_a) = f(eps) q(y_obs | z_a) +
    log(eps / (C - 1))`; the last part has no gradient (eps is a
    stop-gradient estimate), so the `linear` form returns `f(eps) *
    q(y_obs | z_a)` (Eq. 7). The `log` form `f(eps) * log q(y_obs | z_a)` is
    the cross-entropy variant (Kingma et al.'s classification term reweighted
    by f); with `logits` it takes `log q` from `log_softmax(logits)`, else
    from the probabilities floored at `PROBABILITY_FLOOR`.

    Args:
        probs: `(B, C)` learner probabilities `q(y | z_a)`.
        labels: `(B,)` observed labels.
        eps: `(B,)` clipped label uncertainties (no gradient flows into them).
        num_classes: C.
        form: `"linear"` or `"log"`.
        logits: optional `(B, C)` logits with `softmax(logits) = probs`.

    Returns:
        `(B,)` values to *maximise*.

    Example:

    >>> noisy_label_log_likelihood(np.array([[0.5, 0.5]]), np.array([0]), np.array([0.1]), 2)
    array([1.0986...])  # f(0.1) * 0.5 = log(9) / 2
    """
    if form not in LABEL_TERM_FORMS:
        raise ValueError(f"form must be one of {LABEL_TERM_FORMS}, got {form!r}.")
    weight = noisy_label_weight(ops.stop_gradient(eps), num_classes)
    if form == "linear":
        return weight * given_label_values(probs, labels)
    if logits is not None:
        return -weight * cross_entropy_from_logits(labels, logits)
    observed = given_label_values(probs, labels)
    return weight * ops.log(ops.maximum(observed, PROBABILITY_FLOOR))


def labelled_cross_entropy(labels, logits):
    """Cross-entropy of the labelled rows' logits, as this replica's share of the global mean.

    Rows with label -1 (unlabelled) count neither in the sum nor in the
    mean (`tf_data.distribute.replica_mean_share`). The classification loss
    of Mean Teacher's student and of the supervised baseline.

    Args:
        labels: `(B,)` observed labels, -1 for unlabelled rows.
        logits: `(B, C)` logits.

    Returns:
        A scalar to *minimise*.
    """
    labelled = labels >= 0
    return replica_mean_share(
        cross_entropy_from_logits(ops.where(labelled, labels, 0), logits), labelled)


def label_uncertainty(guider_probs, learner_probs, labels):
    """`eps(z_a) = |f'(z_a)[y_obs] - f(z_a)[y_obs]|` (Eq. 11), no gradient.

    Args:
        guider_probs: `(B, C)` probabilities of the EMA guider.
        learner_probs: `(B, C)` probabilities of the learner.
        labels: `(B,)` observed labels.

    Returns:
        `(B,)` uncertainties in [0, 1].
    """
    difference = given_label_values(guider_probs, labels) - given_label_values(
        learner_probs, labels
    )
    return ops.stop_gradient(ops.abs(difference))


def guider_disbelief(guider_probs, labels):
    """`eps(z_a) = 1 - f'(z_a)[y_obs]`: the guider's disbelief in the label, no gradient.

    Eq. 11 with the learner's prediction replaced by the label the learner
    is trained towards, `|f'(z_a)[y_obs] - 1|`: the guider's probability
    that the given label is wrong, which is what eps stands for in Eq. 9.
    Not the paper's estimate; `UncertaintyMiningNet(uncertainty="disbelief")`
    weights the labels by it.

    Args:
        guider_probs: `(B, C)` probabilities of the EMA guider.
        labels: `(B,)` observed labels.

    Returns:
        `(B,)` uncertainties in [0, 1].

    Example:

    >>> guider_disbelief(np.array([[0.9, 0.1]]), np.array([1]))
    array([0.9])
    """
    return ops.stop_gradient(1.0 - given_label_values(guider_probs, labels))


def disbelief_with_held_out(guider_probs, labels, held_out_disbelief):
    """`eps = 1 - mean(guider, held-out)(y_obs)`: two views' disbelief in the label, no gradient.

    The mean of `guider_disbelief` and `held_out_disbelief`, the label's
    `1 - p(y_obs | x)` under a posterior that never saw it (the model's
    `held_out_view`: `umn.cross_fitted`, `umn.label_spreading`): the
    probability that the label is wrong under the mean of the two
    posteriors. The guider trains
    on the labels it judges and comes to believe some wrong ones; the
    held-out view cannot, and the two make different mistakes. Not the
    paper's estimate; `UncertaintyMiningNet(uncertainty="with_held_out")`,
    the default, weights the labels by it (Eq. 9).

    Args:
        guider_probs: `(B, C)` probabilities of the EMA guider.
        labels: `(B,)` observed labels.
        held_out_disbelief: `(B,)` held-out disbelief in [0, 1].

    Returns:
        `(B,)` uncertainties in [0, 1].

    Example:

    >>> disbelief_with_held_out(np.array([[0.9, 0.1]]), np.array([1]), np.array([0.5]))
    array([0.7])
    """
    return 0.5 * (guider_disbelief(guider_probs, labels) + held_out_values(held_out_disbelief))


def wrong_label_chance(held_out_disbelief, noise_rate, num_classes):
    """The chance that a given label is wrong, from a held-out view and the noise rate.

    A view fitted on labels corrupted by symmetric noise at rate `r` (each
    wrong label any of the `C - 1` other classes alike, `a = r / (C - 1)`)
    gives the label `q = (1 - r) p + a (1 - p)`, `p` the probability
    that the given class is the true one. Inverting, `p = clip((q - a) /
    (1 - r - a), 0, 1)`, and by Bayes' rule the label is wrong with chance
    `a (1 - p) / q` (clipped to [0, 1]). Unlike the view's disbelief `1 -
    q`, it weighs the prior that most labels are right: at `r = 0` every
    label is right, and the lower the rate the more doubt the view needs
    to call a label wrong. `UncertaintyMiningNet(warmup_weights=
    "noise_corrected")` weights its warm-up's labels by it (not in the
    paper).

    Args:
        held_out_disbelief: `(B,)` or `(B, 1)` view disbelief `1 - q` in
            [0, 1].
        noise_rate: `r` in [0, (C - 1) / C) (a float or a scalar tensor;
            at `(C - 1) / C` the labels carry no information and the
            chance is 1 where `q <= 1 / C`, 0 elsewhere; a negative rate,
            the models' "unknown", gives 0 for every label).
        num_classes: C (>= 2).

    Returns:
        `(B,)` float32 chances in [0, 1].

    Example:

    >>> wrong_label_chance(np.array([0.9, 0.1]), 0.2, 10)  # q = 0.1 and 0.9
    <tf.Tensor: ... numpy=array([0.2..., 0.], dtype=float32)>
    """
    belief = 1.0 - held_out_values(held_out_disbelief)
    rate = ops.cast(noise_rate, "float32")
    flip = rate / (num_classes - 1)
    true_class = ops.clip((belief - flip) / ops.maximum(1.0 - rate - flip, 1e-6), 0.0, 1.0)
    return ops.clip(flip * (1.0 - true_class) / ops.maximum(belief, 1e-6), 0.0, 1.0)


def held_out_values(held_out_disbelief):
    """The batch's held-out disbelief as a `(B,)` float32 tensor without gradient.

    Args:
        held_out_disbelief: `(B,)` or `(B, 1)` values in [0, 1]
            (`tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY`).

    Returns:
        `(B,)` float32.
    """
    return ops.stop_gradient(ops.cast(ops.reshape(held_out_disbelief, (-1,)), "float32"))


def ema_update(average, value, decay):
    """`decay * average + (1 - decay) * value` (Eq. 10)."""
    return decay * average + (1.0 - decay) * value


def warmed_up_decay(step, decay):
    """`min(decay, 1 - 1 / (step + 1))`: Tarvainen & Valpola's EMA warm-up.

    At step 0 the average is a copy of the weights; early averages are true
    means of the iterates seen so far (Polyak averaging, Eq. 23), later ones
    exponential with `decay`.
    """
    step = ops.cast(step, "float32")
    return ops.minimum(ops.cast(decay, "float32"), 1.0 - 1.0 / (step + 1.0))


def sigmoid_rampup(step, length):
    """`exp(-5 (1 - t)^2)`, `t = clip(step / length, 0, 1)`; 1 if length is 0.

    The consistency ramp-up of Tarvainen & Valpola (2017).
    """
    if not length:
        return ops.convert_to_tensor(1.0, "float32")
    progress = ops.clip(ops.cast(step, "float32") / float(length), 0.0, 1.0)
    return ops.exp(-5.0 * ops.square(1.0 - progress))


def consistency_mse(student_probs, teacher_probs):
    """Mean squared difference of two probability vectors, per example.

    Returns:
        `(B,)`: `mean_c (p_c - q_c)^2` (Mean Teacher's consistency cost).
    """
    return ops.mean(ops.square(student_probs - teacher_probs), axis=-1)
