"""Builders of a tiny rendered dataset made by random-initialised tiny zoo architectures (no training needed).

Five models, each applied to bicubic-downscaled 48x48 crops of scikit-image's photos; the split
is by source crop (train/val/test). Random-initialised SR networks leave strong, model-specific
traces, so a classifier separates them (and x2 from x4) after a few epochs.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch

from srprint.degradation import downscale_image
from srprint.io.images import skimage_photos, write_png
from srprint.render.manifest import write_manifest
from srprint.zoo.archs import create_arch
from srprint.zoo.model import SRModel
from srprint.zoo.specs import parse_model_id

KNOWN = ["EDSR-skimage-x2-L1-s1", "EDSR-skimage-x2-L1-s2", "EDSR-skimage-x4-L1-s1", "RCAN-skimage-x4-L1-s1"]
UNKNOWN = ["RDN-skimage-x2-L1-s1"]
HR = 48


def _crops(per_photo: int = 5) -> list[tuple[str, np.ndarray, str]]:
    out = []
    for name, img in sorted(skimage_photos().items()):
        if name == "retina":  # mostly black: no texture to show a model's traces
            continue
        h, w = img.shape[:2]
        rng = np.random.default_rng(len(name))
        for k in range(per_photo):
            top, left = int(rng.integers(0, h - HR)), int(rng.integers(0, w - HR))
            split = "train" if k < per_photo - 2 else ("val" if k == per_photo - 2 else "test")
            out.append((f"{name}-{k}", img[top : top + HR, left : left + HR], split))
    return out


def make_tiny_render(root: Path, models: list[str]) -> Path:
    """Write PNGs + manifest for ``models`` into ``root``; returns ``root``."""
    torch.set_num_threads(2)
    crops = _crops()
    rows = []
    for mid in models:
        spec = parse_model_id(mid)
        torch.manual_seed(zlib.crc32(mid.encode()))
        model = SRModel(create_arch(spec.arch, spec.scale), spec.scale, name=mid).eval()
        lr = np.stack([downscale_image(hr, spec.scale) for _, hr, _ in crops])
        sr_batch = model.infer(torch.from_numpy(lr).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
        for (image_id, _, split), sr in zip(crops, sr_batch, strict=True):
            rel = f"{mid}/{image_id}.png"
            write_png(root / rel, sr)
            rows.append(
                {
                    "path": rel,
                    "model_id": mid,
                    "source": "trained",
                    "arch": spec.arch,
                    "dataset": spec.dataset,
                    "loss": spec.loss,
                    "task": "sr",
                    "size": "tiny",
                    "scale": spec.scale,
                    "seed": spec.seed,
                    "image_id": image_id,
                    "split": split,
                    "width": sr.shape[1],
                    "height": sr.shape[0],
                    "labels_json": json.dumps(spec.to_dict()),
                }
            )
    write_manifest(root, rows)
    return root


TINY_CFG = dict(
    backbone="test_convnext", crop=32, batch_size=4, head_epochs=1, full_epochs=4, lr=2e-3, patience=5,
    jpeg_augment=0.5, jpeg_quality_min=65,  # a 5-epoch budget: mostly clean crops
)
HOLDOUT = "model_id=" + "|".join(UNKNOWN)


