"""A tiny rendered dataset for the parsing tests (built in seconds, no model training).

Six pseudo-SR models: EDSR, RCAN and RDN (tiny presets, random initialisation) at x2 and x4, with
two loss labels, plus the real ``HR`` crops and one "imported" model. Each model's output is the
bicubic upscale of the LR crop plus a small residual from its random network, so the image content
is realistic (x4 blurrier than x2) and every model also leaves its own network trace.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.dataset import write_manifest
from srprint.degradation import bicubic_upscale, downscale_image
from srprint.io.images import skimage_photos, write_png
from srprint.zoo.archs import create_arch
from srprint.zoo.specs import parse_model_id

MODELS = [
    "EDSR-skimage-x2-L1-s1",
    "EDSR-skimage-x4-VGG+Adv-s1",
    "RCAN-skimage-x2-VGG+Adv-s1",
    "RCAN-skimage-x4-L1-s1",
    "RDN-skimage-x2-L1-s1",
    "RDN-skimage-x4-VGG+Adv-s1",
]
IMPORTED = ("thirdparty_edsr_x2", "EDSR-skimage-x2-L1-s3")  # (id, spec of the network that makes it)
HR = 48


def _crops(per_photo: int = 4) -> list[tuple[str, np.ndarray]]:
    out = []
    for name, img in sorted(skimage_photos().items()):
        h, w = img.shape[:2]
        rng = np.random.default_rng(len(name))
        for k in range(per_photo):
            top, left = int(rng.integers(0, h - HR)), int(rng.integers(0, w - HR))
            out.append((f"{name}-{k}", img[top : top + HR, left : left + HR]))
    return out


def _render(spec_id: str, crops: list[tuple[str, np.ndarray]]) -> np.ndarray:
    spec = parse_model_id(spec_id)
    torch.manual_seed(zlib.crc32(spec_id.encode()))
    net = create_arch(spec.arch, spec.scale).eval()
    lr = torch.from_numpy(np.stack([downscale_image(hr, spec.scale) for _, hr in crops])).permute(0, 3, 1, 2)
    with torch.no_grad():
        out = net(lr)
        out = bicubic_upscale(lr, spec.scale) + 0.15 * torch.tanh(out - out.mean())
    return out.clamp(0, 1).permute(0, 2, 3, 1).numpy()


def make_parsing_render(root: Path) -> Path:
    torch.set_num_threads(2)
    crops = _crops()
    n = len(crops)
    splits = ["train"] * (n - 10) + ["val"] * 4 + ["test"] * 6
    rows = []

    def add(mid: str, imgs: np.ndarray | list[np.ndarray], source: str, spec: dict, labels: dict) -> None:
        for (image_id, _), split, img in zip(crops, splits, imgs, strict=True):
            rel = f"{mid}/{image_id}.png"
            write_png(root / rel, img)
            rows.append(
                {
                    "path": rel,
                    "model_id": mid,
                    "source": source,
                    "arch": spec.get("arch", ""),
                    "dataset": spec.get("dataset", ""),
                    "loss": spec.get("loss", ""),
                    "task": "sr" if source != "real" else "",
                    "size": "tiny" if source == "trained" else "",
                    "scale": int(spec.get("scale", 0)),
                    "seed": int(spec.get("seed", -1)),
                    "image_id": image_id,
                    "split": split,
                    "width": img.shape[1],
                    "height": img.shape[0],
                    "labels_json": json.dumps(labels),
                }
            )

    for mid in MODELS:
        spec = parse_model_id(mid).to_dict()
        add(mid, _render(mid, crops), "trained", spec, spec)
    imp_id, imp_spec = IMPORTED
    spec = parse_model_id(imp_spec).to_dict()
    add(
        imp_id,
        _render(imp_spec, crops),
        "imported",
        {"arch": "EDSR", "scale": 2, "loss": ""},
        {"id": imp_id, "arch": "EDSR", "scale": 2, "loss": "L1", "source": "imported"},
    )
    add("HR", [hr for _, hr in crops], "real", {}, {"id": "HR", "source": "real"})
    write_manifest(root, rows)
    return root


@pytest.fixture(scope="session")
def parsing_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_parsing_render(tmp_path_factory.mktemp("parsing_render"))


# engine settings small enough for a test (timm's 0.2M-parameter test ConvNeXt)
TINY_CLASSIFIER = dict(
    backbone="test_convnext", crop=32, batch_size=8, head_epochs=1, full_epochs=4, lr=2e-3, patience=5,
    jpeg_augment=0.5, jpeg_quality_min=65,  # a 5-epoch budget: mostly clean crops
)
