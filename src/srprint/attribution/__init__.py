"""Model attribution: which SR model made this image? (CNN classifier, open set, PRNU baseline)."""

import lazy_loader as _lazy

# attributes load on first use: the engine imports torch + timm, and `srprint --help` must not wait for them
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "backbones": ["create_backbone", "list_backbones", "register_backbone"],
        "engine": [
            "Classifier",
            "ClassifierConfig",
            "Predictions",
            "RunError",
            "load_classifier",
            "predict_frame",
        ],
        "training": ["train_classifier", "train_run"],
    },
)
