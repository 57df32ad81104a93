"""Ownership verification of restoration networks: parameter lineage, then critical images.

The default verdict (:mod:`.ownership`) first compares the two models' weights after aligning and
canonicalising them (:mod:`.lineage`; invariant to the re-parameterisations of :mod:`.reparam`),
with a p-value from a null of independent models; where the layers do not line up it falls through
to the critical-image method of Quan et al. (ICCV 2023), described below.

A model's *critical image* is the image it restores almost perfectly while being as far from
natural-image statistics as possible. Its colour histogram + LGP texture histogram is the model's
fingerprint; a suspect whose fingerprint lies within ``eta`` of the source's is declared a copy.

Modules: :mod:`.degradations` (D_T operators), :mod:`.critical` (the optimisation),
:mod:`.features` (RGB + LGP histograms), :mod:`.fingerprint` (the record and its file),
:mod:`.verify` (distance, chi-square threshold, verdict), :mod:`.attacks` (prune / finetune /
quantize / permute / rescale / foldbn / fp16 / noise), :mod:`.baselines` (classification-fingerprint
baselines), :mod:`.registry` (SQLite).
"""

import lazy_loader as _lazy

# attributes load on first use: the operators and the optimisation import torch, and the CLI must start fast
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "task_operators": ["DEGRADATIONS", "apply_degradation", "get_degradation", "list_degradations"],
        "features": ["FEATURE_LENGTH", "fingerprint_features", "lgp_histogram", "lgp_riu2_codes", "rgb_histogram"],
        "fingerprint": ["Fingerprint", "FingerprintSettings", "fingerprint_model", "load_fingerprint"],
        "verify": ["Verdict", "eta_threshold", "feature_distance", "verify_fingerprints"],
        "ownership": ["OwnershipVerdict", "verify_models"],
    },
)
