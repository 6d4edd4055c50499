"""NumPy brute-force reference for the multilabel CRF tests (tiny sizes only)."""

import itertools

import numpy as np

from robustcrf.multilabel.energy import CRFEnergy


def random_parameters(num_clean, num_noisy, num_hidden, batch, seed, scale=1.0):
    """Random unaries and pairwise terms: a dict of float32 arrays."""
    rng = np.random.default_rng(seed)
    draw = lambda *shape: (scale * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    return {"a": draw(batch, num_clean), "b": draw(batch, num_noisy), "c": draw(num_hidden),
            "W": draw(num_clean, num_noisy), "Wp": draw(num_hidden, num_noisy)}


def set_energy_parameters(energy, params):
    """Writes `W`, `W'`, `c` into a `CRFEnergy`."""
    if energy.pairwise:
        energy.clean_noisy_kernel.assign(params["W"])
    if energy.num_hidden:
        energy.hidden_noisy_kernel.assign(params["Wp"])
        energy.hidden_bias.assign(params["c"])


def random_energy(num_clean, num_noisy, num_hidden, batch, seed, pairwise=True):
    """A `CRFEnergy` holding `random_parameters` (W zeroed without pairwise terms):
    `(energy, params)`, the unaries `a`, `b` in `params`."""
    params = random_parameters(num_clean, num_noisy, num_hidden, batch, seed)
    if not pairwise:
        params["W"][:] = 0.0
    energy = CRFEnergy(num_clean, num_noisy, num_hidden, pairwise=pairwise)
    set_energy_parameters(energy, params)
    return energy, params


def configurations(num_clean, num_noisy, num_hidden):
    """Every `(y, y_hat, h)`: three float arrays with one row per configuration."""
    rows = np.array(list(itertools.product((0.0, 1.0), repeat=num_noisy + num_clean + num_hidden)))
    return rows[:, :num_noisy], rows[:, num_noisy:num_noisy + num_clean], \
        rows[:, num_noisy + num_clean:]


def energies(params, example, y, y_hat, h):
    """Eq. 2 for every configuration of one example."""
    a, b = params["a"][example], params["b"][example]
    value = -y_hat @ a - y @ b - h @ params["c"]
    value -= np.einsum("ni,ij,nj->n", y_hat, params["W"], y)
    value -= np.einsum("ni,ij,nj->n", h, params["Wp"], y)
    return value


def joint(params, example, num_clean, num_noisy, num_hidden):
    """`(y, y_hat, h, p)` over all configurations, exactly normalised; also log Z."""
    y, y_hat, h = configurations(num_clean, num_noisy, num_hidden)
    log_weights = -energies(params, example, y, y_hat, h).astype(np.float64)
    log_z = np.logaddexp.reduce(log_weights)
    return y, y_hat, h, np.exp(log_weights - log_z), log_z


def sufficient_statistics(y, y_hat, h):
    """`-dE/dtheta` per configuration for (a, b, c, W, W')."""
    return {"a": y_hat, "b": y, "c": h, "W": np.einsum("ni,nj->nij", y_hat, y),
            "Wp": np.einsum("ni,nj->nij", h, y)}


def test_reference_joint_is_normalised_and_consistent():
    params = random_parameters(2, 3, 2, 1, seed=3)
    y, y_hat, h, p, log_z = joint(params, 0, 2, 3, 2)
    assert np.isclose(p.sum(), 1.0)
    assert np.isclose(np.log(np.exp(-energies(params, 0, y, y_hat, h)).sum()), log_z)
