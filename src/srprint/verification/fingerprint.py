"""The :class:`Fingerprint` record: critical image(s) + feature vector + the settings that made them.

On disk a fingerprint is one JSON file holding the settings, the features, the model's identity
(sha256 of its weights file, id, arch, scale, task), library versions and the critical images as
base64 PNG (so the file is self-contained); the PNGs are also written next to it for viewing
(``<stem>.critical<k>.png``). Fingerprints are cached under ``$SRPRINT_HOME/fingerprints/cache``
keyed by ``(settings, model sha256)``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import config_hash, resolves_device, srprint_home
from ..errors import ImageError, SrprintError
from ..io.atomic import atomic_write_json
from ..io.images import decode_image, encode_png, write_png

FORMAT = "srprint-fingerprint"
FORMAT_VERSION = 1
FEATURE_VERSION = 1  # bump when features.py changes meaning
METHODS = ("critical", "wo_tv", "maxobj", "projcl", "poolcl")


class FingerprintError(SrprintError):
    """A fingerprint file that cannot be read, or fingerprints that cannot be compared."""


@dataclass(frozen=True)
class FingerprintSettings:
    """Everything that determines a fingerprint besides the model (all must match to compare)."""

    task: str = "sr"
    size: int = 128
    iters: int = 5000
    lam: float = 1e-3
    lr: float = 0.1
    k: int = 1
    seed: int = 0
    method: str = "critical"
    task_params: dict[str, Any] = field(default_factory=dict)
    feature_version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        from .task_operators import degradation_params  # imports torch: not at CLI start-up

        if self.method not in METHODS:
            raise SrprintError(f"unknown --method {self.method!r}; known: {', '.join(METHODS)}")
        object.__setattr__(self, "task_params", degradation_params(self.task, self.task_params))
        if self.method == "wo_tv":  # the ablation is lambda = 0, whatever was asked
            object.__setattr__(self, "lam", 0.0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FingerprintSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise FingerprintError(f"unknown fingerprint setting(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def key(self) -> str:
        return config_hash(self.to_dict())

    def differences(self, other: FingerprintSettings) -> list[str]:
        """``name (a vs b)`` for every setting that differs."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k} ({a[k]!r} vs {b[k]!r})" for k in a if a[k] != b[k]]


@dataclass
class Fingerprint:
    """A model's fingerprint. ``images`` are ``(H, W, 3)`` uint8 critical images (or boundary points)."""

    settings: FingerprintSettings
    features: np.ndarray
    images: list[np.ndarray]
    model: dict[str, Any] = field(default_factory=dict)  # id, sha256, arch, scale, task, source, path
    objective: dict[str, float] = field(default_factory=dict)  # initial / final
    extra: dict[str, Any] = field(default_factory=dict)  # method-specific (e.g. baseline labels)
    seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""

    def float_images(self) -> list[np.ndarray]:
        return [i.astype(np.float32) / 255.0 for i in self.images]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "settings": self.settings.to_dict(),
            "features": [float(v) for v in self.features], "model": self.model, "objective": self.objective,
            "extra": self.extra, "seconds": self.seconds, "versions": self.versions, "created": self.created,
            "images_png_base64": [base64.b64encode(encode_png(i)).decode("ascii") for i in self.images],
        }

    @classmethod
    def from_dict(cls, d: Any, name: str = "<fingerprint>") -> Fingerprint:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise FingerprintError(f"{name}: not an srprint fingerprint file")
        if d.get("format_version") != FORMAT_VERSION:
            raise FingerprintError(f"{name}: unsupported fingerprint format version {d.get('format_version')!r}")
        try:
            settings = FingerprintSettings.from_dict(d["settings"])
            features = np.asarray(d["features"], dtype=np.float64)
            images = []
            for k, b64 in enumerate(d["images_png_base64"]):
                rgb = decode_image(base64.b64decode(b64, validate=True), f"{name} image {k}")
                images.append(np.round(rgb * 255).astype(np.uint8))
        except (KeyError, TypeError, ValueError, binascii.Error, ImageError) as exc:
            raise FingerprintError(f"{name}: corrupt fingerprint ({type(exc).__name__}: {exc})") from exc
        if features.ndim != 1 or not np.isfinite(features).all():
            raise FingerprintError(f"{name}: corrupt fingerprint (bad feature vector)")
        return cls(settings, features, images, d.get("model", {}), d.get("objective", {}), d.get("extra", {}),
                   float(d.get("seconds", 0.0)), d.get("versions", {}), d.get("created", ""))

    def save(self, path: str | Path, write_pngs: bool = True) -> Path:
        """Write the JSON (atomically) and, next to it, ``<stem>.critical<k>.png``."""
        path = Path(path)
        if path.is_dir():
            path = path / "fingerprint.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, self.to_dict())
        if write_pngs:
            for k, img in enumerate(self.images):
                write_png(path.with_name(f"{path.stem}.critical{k}.png"), img.astype(np.float32) / 255.0)
        return path


def load_fingerprint(path: str | Path) -> Fingerprint:
    """Read a fingerprint JSON file; a missing, truncated or foreign file raises :class:`FingerprintError`.

    Raises
    ------
    FingerprintError
        On: "fingerprint file not found: …"; or "corrupt fingerprint file (…)".
    """
    p = Path(path)
    if p.is_dir():
        p = p / "fingerprint.json"
    if not p.is_file():
        raise FingerprintError(f"fingerprint file not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FingerprintError(f"{p}: corrupt fingerprint file ({exc})") from exc
    return Fingerprint.from_dict(data, str(p))


def is_fingerprint_file(path: str | Path) -> bool:
    p = Path(path)
    return p.is_file() and p.suffix.lower() == ".json" or (p.is_dir() and (p / "fingerprint.json").is_file())


def model_identity(entry: Any) -> dict[str, Any]:
    from ..io.checkpoints import sha256_file

    return {"id": entry.id, "sha256": sha256_file(entry.weights_path), "arch": entry.arch, "scale": entry.scale,
            "task": entry.task, "source": entry.source, "path": str(entry.path),
            "attack": entry.labels.get("attack")}


def load_entry_model(entry: Any, device: str = "cpu") -> Any:
    """:func:`srprint.zoo.model.load_model` (kept for the callers that pass it as ``load=``)."""
    from ..zoo.model import load_model

    return load_model(entry, device=device)


def cache_dir() -> Path:
    return srprint_home() / "fingerprints" / "cache"


@resolves_device
def fingerprint_model(model_ref: Any, settings: FingerprintSettings | None = None, device: str = "cpu",
                      *, use_cache: bool = True, callback: Any = None) -> Fingerprint:
    """Fingerprint a zoo entry (``ZooEntry`` or entry folder) with ``settings``.

    Cached under :func:`cache_dir` by ``(settings, weights sha256)``: the same model and settings
    are never optimised twice.
    """
    from ..zoo.entry import ZooEntry, library_versions
    from .features import fingerprint_features

    settings = settings or FingerprintSettings()
    entry = model_ref if isinstance(model_ref, ZooEntry) else ZooEntry.load(model_ref)
    ident = model_identity(entry)
    cache_file = cache_dir() / f"{config_hash({'s': settings.to_dict(), 'sha': ident['sha256']})}.json"
    if use_cache and cache_file.is_file():
        try:
            fp = load_fingerprint(cache_file)
            fp.model = {**fp.model, **ident}
            return fp
        except FingerprintError:
            pass  # a corrupt cache entry is recomputed
    dev = device
    model = load_entry_model(entry, dev)
    t0 = time.perf_counter()
    if settings.method in ("projcl", "poolcl"):
        from .baselines import ipguard_fingerprint

        images_f, extra, obj = ipguard_fingerprint(model, settings, dev)
        features = np.zeros(0)
    else:
        from .critical import critical_images

        res = critical_images(model, settings.task, settings.size, iters=settings.iters, lam=settings.lam,
                              lr=settings.lr,
                              k=settings.k, seed=settings.seed, maximize=settings.method == "maxobj",
                              params=settings.task_params, device=dev, callback=callback)
        images_f, extra = list(res.images), {}
        obj = {"initial": res.initial_objective, "final": res.final_objective}
        features = fingerprint_features([np.round(i * 255) / 255 for i in images_f])
    import torch

    # not part of the cache key (a cached fingerprint stays the answer for its settings), but recorded:
    # float reductions depend on them, so recomputing elsewhere can move d slightly (see verify)
    compute = {"torch_threads": str(torch.get_num_threads()), "device": str(dev)}
    fp = Fingerprint(settings, features, [np.round(np.clip(i, 0, 1) * 255).astype(np.uint8) for i in images_f],
                     ident, obj, extra, round(time.perf_counter() - t0, 3), {**library_versions(), **compute},
                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if use_cache:
        fp.save(cache_file, write_pngs=False)
    return fp
