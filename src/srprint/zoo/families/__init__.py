"""The published SR and denoising families srprint ports, one folder each.

A family folder holds its network (``network.py``: the PyTorch module and its ``@register_arch``)
and, for PyTorch checkpoints, its state-dict detector (``detect.py``: ``@register_detector``).
Families whose releases are TensorFlow, Keras or MatConvNet files are converted by the readers in
:mod:`srprint.zoo.imports`. Shape helpers shared by the detectors are in :mod:`.state_dicts`.

Registration is these two explicit lists; nothing is found by scanning folders.
"""

from __future__ import annotations

# every family, imported by srprint.zoo.archs so that an imported entry rebuilds without the import
# machinery
NETWORKS = (
    "imdn", "rfdn_rlfn", "carn", "dncnn", "srgan", "vdsr", "bsrn", "fmen", "efdn", "mobilesr", "safmn", "span",
    "espcn", "fsrcnn", "lapsrn", "fastsrgan_keras", "matconvnet_denoisers",
)
# the families with a state-dict detector, in the order detectors are tried (first claim wins)
DETECTORS = ("imdn", "rfdn_rlfn", "carn", "dncnn", "srgan", "vdsr", "bsrn", "fmen", "efdn", "mobilesr", "safmn",
             "span")
