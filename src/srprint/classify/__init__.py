"""The one classifier-training engine (attribution and parsing sit on top of it).

A *run* is a folder::

    RUN/config.yaml     format, label, data/where/holdout (when known) and the ClassifierConfig
    RUN/classes.json    class names, in logit order
    RUN/state.pt        last completed epoch: weights, optimiser, best weights, early-stop state
                        (plain tensors/numbers only: loaded with ``torch.load(weights_only=True)``)
    RUN/history.json    one record per completed epoch (loss, train/val accuracy)
    RUN/metrics.json    written last; ``complete: true`` marks a finished run

Training recipe (the reference study's, as configurable defaults): timm backbone with a fresh head,
fed the crop's log-DCT spectrum by default (``input="dct"``; see :mod:`.inputs` for why);
head alone for ``head_epochs``, then everything for ``full_epochs``; Adamax, lr 5e-4, batch 16;
random crops for training, centre crops for evaluation; early stop on validation accuracy.

Images smaller than the crop are **padded by reflection** (symmetric) up to the crop size, never
refused: SR outputs of small inputs are legitimate evidence, and padding keeps every pixel. Grey and
alpha images are converted to RGB by :func:`srprint.io.images.read_image`.

Every epoch is checkpointed atomically; a killed run resumes from its last completed epoch and ends
with the same weights as an uninterrupted run (crops and shuffles are seeded per epoch).

Modules: :mod:`.run_folder` (config + run folder), :mod:`.data`, :mod:`.train`, :mod:`.predict`,
:mod:`.inputs` (DCT / pixels), :mod:`.backbones` (timm), :mod:`.tiles`, :mod:`.openset`,
:mod:`.perturb` (robustness), :mod:`.options` (CLI options shared by `attribute` and `parse`).
"""

import lazy_loader as _lazy

# attributes load on first use: the engine imports torch + timm, and `srprint --help` must not wait for them
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "backbones": ["create_backbone", "list_backbones", "register_backbone"],
        "run_folder": ["ClassifierConfig", "RunError"],
        "predict": ["Classifier", "Predictions", "load_classifier", "predict_frame"],
        "train": ["train_classifier", "train_run"],
    },
)
