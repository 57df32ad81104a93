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

from srprint.degradation import bicubic_upscale, downscale_image
from srprint.io.images import skimage_photos, write_png
from srprint.parsing import heldout
from srprint.render.manifest import write_manifest
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


class _FakeEngine:
    """Stands in for the classifier engine: 'predicts' the true label for every image except RCAN's."""

    def __init__(self) -> None:
        self.trained: list[tuple[str, int, int]] = []
        self.train_models: list[set[str]] = []

    def train_classifier(self, root, train_df, val_df, label, out, cfg, device="cpu", meta=None):  # noqa: ANN001, ANN201
        Path(out).mkdir(parents=True, exist_ok=True)
        classes = sorted({str(v) for v in train_df[label]}, key=heldout._natural)
        (Path(out) / "fake.json").write_text(json.dumps({"label": label, "classes": classes}))
        self.trained.append((label, len(train_df), len(val_df)))
        self.train_models.append(set(train_df["model_id"]))
        return Path(out)

    def _load(self, run):  # noqa: ANN001, ANN202
        return json.loads((Path(run) / "fake.json").read_text())

    def predict_frame(self, run, root, df, device="cpu", batch_size=32, label=None, **_):  # noqa: ANN001, ANN201
        from srprint.classify.predict import Predictions

        info = self._load(run)
        classes, lab = info["classes"], info["label"]
        probs = np.zeros((len(df), len(classes)))
        for i, (_, row) in enumerate(df.iterrows()):
            truth = str(row[lab]) if str(row[lab]) in classes else classes[0]
            j = classes.index(truth)
            if row["arch"] == "RCAN":  # pretend RCAN is always parsed wrong
                j = (j + 1) % len(classes)
            probs[i, j] = 1.0
        return Predictions(
            classes,
            probs,
            np.zeros((len(df), 2)),
            [str(v) for v in df[lab]] if lab in df else None,
            list(df["path"]),
            np.arange(len(df)),
        )

    def load_classifier(self, run, device="cpu"):  # noqa: ANN001, ANN201
        from types import SimpleNamespace

        info = self._load(run)
        return SimpleNamespace(classes=info["classes"], meta={"label": info["label"]}, run=run)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> _FakeEngine:
    import srprint.classify.predict as engine
    import srprint.classify.train as training

    fake = _FakeEngine()
    monkeypatch.setattr(training, "train_classifier", fake.train_classifier)
    monkeypatch.setattr(engine, "load_classifier", lambda run, device="cpu", **_: fake.load_classifier(run))
    monkeypatch.setattr(
        engine,
        "predict_frame",
        lambda clf, root, df, **kw: fake.predict_frame(getattr(clf, "run", clf), root, df, **kw),
    )
    return fake
