"""Ownership verification of restoration networks by critical images (Quan et al., ICCV 2023).

A model's *critical image* is the image it restores almost perfectly while being as far from
natural-image statistics as possible. Its colour histogram + LGP texture histogram is the model's
fingerprint; a suspect whose fingerprint lies within ``eta`` of the source's is declared a copy.

Modules: :mod:`.degradations` (D_T operators), :mod:`.critical` (the optimisation),
:mod:`.features` (RGB + LGP histograms), :mod:`.fingerprint` (the record and its file),
:mod:`.verify` (distance, chi-square threshold, verdict), :mod:`.attacks` (prune / finetune /
quantize), :mod:`.baselines` (classification-fingerprint baselines), :mod:`.registry` (SQLite).
"""

from .degradations import DEGRADATIONS, apply_degradation, get_degradation, list_degradations
from .features import FEATURE_LENGTH, fingerprint_features, lgp_histogram, lgp_riu2_codes, rgb_histogram
from .fingerprint import Fingerprint, FingerprintSettings, fingerprint_model, load_fingerprint
from .verify import Verdict, eta_threshold, feature_distance, verify_fingerprints

__all__ = [
    "DEGRADATIONS", "FEATURE_LENGTH", "Fingerprint", "FingerprintSettings", "Verdict", "apply_degradation",
    "eta_threshold", "feature_distance", "fingerprint_features", "fingerprint_model", "get_degradation",
    "lgp_histogram", "lgp_riu2_codes", "list_degradations", "load_fingerprint", "rgb_histogram",
    "verify_fingerprints",
]
