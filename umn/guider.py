"""The guider: an exponential moving average of the learner's classifier."""

import copy

import keras

from umn import architectures
from umn import losses


@keras.saving.register_keras_serializable(package="umn")
class Guider(keras.layers.Layer):
    """EMA copy of the learner's classifier branch (Eq. 10).

    Holds its own copies of the networks the classifier reads (the trunk,
    the `q(z_a | x)` head and the classifier), rebuilt from their configs.
    Its weights are non-trainable variables: the optimiser never sees them;
    `update` assigns `theta' <- gamma theta' + (1 - gamma) theta` after every
    optimiser step. They are tracked, so `.keras` files and checkpoints save
    and restore them with the model. Mean Teacher's teacher is the same
    object.

    Args:
        network_configs: dict `name -> keras.saving.serialize_keras_object`
            of each learner network to copy (same architecture, fresh
            weights; call `copy_from` to start from the learner).
        reads_latent: whether the classifier reads `z_a` (mlp) or the trunk
            features (conv13); see `architectures.classifier_forward`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        images: `(B, H, W, K)` images (already perturbed by `eta'`).

    Returns:
        `(B, C)` class probabilities `f'(z_a)` of Eq. 11, using the mean of
        `q(z_a | x)` and inference-mode layers.

    Example:

    >>> nets = architectures.build_networks("mlp", (8, 8, 1), 10, generative=False)
    >>> guider = Guider({k: keras.saving.serialize_keras_object(v)
    ...                  for k, v in nets.items()}, reads_latent=True)
    >>> guider.copy_from(nets); guider.update(nets, 0.99)
    """

    def __init__(self, network_configs, reads_latent, **kwargs):
        super().__init__(**kwargs)
        self.network_configs = dict(network_configs)
        self.reads_latent = bool(reads_latent)
        # deserialize_keras_object consumes parts of the dict it is given.
        self.networks = {
            name: keras.saving.deserialize_keras_object(copy.deepcopy(config))
            for name, config in self.network_configs.items()
        }
        self.trainable = False

    @classmethod
    def from_networks(cls, networks, reads_latent, **kwargs):
        """Builds a guider shaped like `networks` (a dict of models)."""
        configs = {name: keras.saving.serialize_keras_object(model)
                   for name, model in networks.items()}
        return cls(configs, reads_latent, **kwargs)

    def build(self, input_shape=None):
        self.built = True

    def _paired_weights(self, source_networks):
        pairs = []
        for name, guider_network in self.networks.items():
            source = source_networks[name]
            if len(guider_network.weights) != len(source.weights):
                raise ValueError(
                    f"Guider network {name!r} has {len(guider_network.weights)} weights but "
                    f"the learner's has {len(source.weights)}; they must share "
                    "one architecture."
                )
            pairs.extend(zip(guider_network.weights, source.weights))
        return pairs

    def copy_from(self, source_networks):
        """Sets every guider weight to the learner's (decay 0)."""
        for average, value in self._paired_weights(source_networks):
            average.assign(value)

    def update(self, source_networks, decay):
        """One EMA step (Eq. 10) for all weights, batch-norm statistics included.

        Args:
            source_networks: the learner's dict of networks.
            decay: gamma in [0, 1), a float or scalar tensor.
        """
        for average, value in self._paired_weights(source_networks):
            average.assign(losses.ema_update(average, value, decay))

    def call(self, images):
        outputs = architectures.classifier_forward(
            self.networks, images, self.reads_latent, training=False
        )
        return keras.ops.softmax(outputs["logits"], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(network_configs=self.network_configs, reads_latent=self.reads_latent)
        return config
