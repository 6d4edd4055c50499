"""One preset system for every table: frozen dataclasses, looked up by name.

Each table keeps its settings as a frozen dataclass and its named presets
(`smoke`, `default`, `paper`) in a dict; `resolve` picks one and applies the
command line's overrides. A flag left unset (None) keeps the preset's value.
"""

import dataclasses

from robustcrf import alpha_annealing


def override(preset, **overrides):
    """A copy of `preset` with its non-None `overrides` applied.

    Overriding one alpha clock (`alpha_epochs` or `alpha_fraction`) clears
    the other (`robustcrf.alpha_annealing.one_clock`).

    Raises:
        ValueError: for a field the preset does not have.
    """
    changes = {key: value for key, value in overrides.items() if value is not None}
    fields = {field.name for field in dataclasses.fields(preset)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise ValueError(f"Unknown preset fields {unknown}; {type(preset).__name__} has "
                         f"{sorted(fields)}.")
    if "alpha_epochs" in fields and "alpha_fraction" in fields:
        changes = alpha_annealing.one_clock(changes)
    return dataclasses.replace(preset, **changes)


def resolve(presets, name, **overrides):
    """`presets[name]` with its non-None `overrides` applied (see `override`).

    Raises:
        ValueError: for an unknown preset name or field.
    """
    if name not in presets:
        raise ValueError(f"Unknown preset {name!r}; choose one of {tuple(presets)}.")
    return override(presets[name], **overrides)
