"""Ownership verification of restoration networks by critical images (Quan et al., ICCV 2023).

A model's *critical image* is the image it restores almost perfectly while being as far from
natural-image statistics as possible. Its colour histogram + LGP texture histogram is the model's
fingerprint; a suspect whose fingerprint lies within ``eta`` of the source's is declared a copy.

Modules: :mod:`.degradations` (D_T operators), :mod:`.critical` (the optimisation),
:mod:`.features` (RGB + LGP histograms), :mod:`.fingerprint` (the record and its file),
:mod:`.verify` (distance, chi-square threshold, verdict), :mod:`.attacks` (prune / finetune /
quantize), :mod:`.baselines` (classification-fingerprint baselines), :mod:`.registry` (SQLite).
"""

import lazy_loader as _lazy

# attributes load on first use: the operators and the optimisation import torch, and the CLI must start fast
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "degradations": ["DEGRADATIONS", "apply_degradation", "get_degradation", "list_degradations"],
        "features": ["FEATURE_LENGTH", "fingerprint_features", "lgp_histogram", "lgp_riu2_codes", "rgb_histogram"],
        "fingerprint": ["Fingerprint", "FingerprintSettings", "fingerprint_model", "load_fingerprint"],
        "verify": ["Verdict", "eta_threshold", "feature_distance", "verify_fingerprints"],
    },
)
