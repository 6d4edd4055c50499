"""The rows of Table 1: which model each method trains, with what arguments."""

import dataclasses

KINDS = ("cross_entropy", "crf")


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """One Table 1 row (Section 4.1, "Baselines"; Fig. 2).

    Attributes:
        name: flag value, e.g. `"crf_hidden"`.
        title: the paper's row label.
        kind: `"cross_entropy"` or `"crf"`.
        target: for cross-entropy: `"clean"` (every training example's
            clean labels: the upper bound), `"noisy"` (the noisy labels, with
            the clean set's clean labels in its rows when both vocabularies
            are the same; noisy-vocabulary predictions mapped to clean
            categories otherwise) or `"clean_subset"` (the clean set `D_C`
            alone: the floor every robust method must beat).
        pairwise: CRF with `W` (and `W'` when `hidden`).
        hidden: CRF with hidden units.
        noisy_from_image: `b` is a function of `x` (False: the "w/o x-y
            link" rows).
        anneal_alpha: anneal `alpha` with the auxiliary RBM (False: `alpha = 0`,
            no auxiliary distribution).
    """

    name: str
    title: str
    kind: str
    target: str = "clean"
    pairwise: bool = True
    hidden: bool = False
    noisy_from_image: bool = True
    anneal_alpha: bool = True

    def model_arguments(self, num_hidden):
        """Keyword arguments of `RobustMultilabelCRF` for this row."""
        if self.kind != "crf":
            raise ValueError(f"{self.name} is not a CRF method.")
        return {"pairwise": self.pairwise, "num_hidden": num_hidden if self.hidden else 0,
                "noisy_from_image": self.noisy_from_image}


METHODS = {
    spec.name: spec for spec in (
        MethodSpec("ce_clean", "Cross entropy loss w/ clean", "cross_entropy", target="clean"),
        MethodSpec("ce_noisy", "Cross entropy loss w/ noisy", "cross_entropy", target="noisy"),
        MethodSpec("ce_clean_subset", "Cross entropy loss on D_C alone", "cross_entropy",
                   target="clean_subset"),
        MethodSpec("no_pairwise", "No pairwise link", "crf", pairwise=False),
        MethodSpec("crf_no_hidden", "CRF w/o hidden", "crf"),
        MethodSpec("crf_hidden", "CRF w/ hidden", "crf", hidden=True),
        MethodSpec("crf_no_xy", "CRF w/o x-y link", "crf", hidden=True, noisy_from_image=False),
        MethodSpec("crf_no_xy_alpha0", "CRF w/o x-y link (alpha = 0)", "crf", hidden=True,
                   noisy_from_image=False, anneal_alpha=False),
    )
}


def method_spec(name):
    """The `MethodSpec` called `name`, or a ValueError listing the choices."""
    if name not in METHODS:
        raise ValueError(f"Unknown method {name!r}; choose from {', '.join(METHODS)}.")
    return METHODS[name]
