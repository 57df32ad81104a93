"""``ModelSpec``: the hyperparameters of one zoo model, and the preset grids.

The id follows the reference naming ``{ARCH}-{dataset}-x{scale}-{loss}-s{seed}``
(e.g. ``RCAN-div2k-x4-VGG+Adv-s2``) and parses back with :func:`parse_model_id`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import load_yaml
from ..errors import SpecError

LOSSES = ("L1", "VGG+Adv", "ResNet+Adv")
ARCHS = ("EDSR", "RDN", "RCAN", "NLSN", "SwinIR")
SCALES = (2, 4)
_ID_RE = re.compile(
    r"^(?P<arch>[A-Za-z][A-Za-z0-9_]*)-(?P<dataset>[a-z0-9][a-z0-9_.-]*)-x(?P<scale>\d+)-(?P<loss>[^-\s]+)-s(?P<seed>\d+)$"
)
_DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelSpec:
    """One trainable model of the grid.

    ``size`` (the architecture size preset) is recorded in the zoo entry but not in the id, as in
    the reference naming; one zoo holds one size per id.
    """

    arch: str
    dataset: str
    scale: int
    loss: str
    seed: int
    size: str = "tiny"

    def __post_init__(self) -> None:
        from .archs import SIZE_PRESETS, get_arch

        get_arch(self.arch)  # raises SpecError for unknown archs
        if self.loss not in LOSSES:
            raise SpecError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if not _DATASET_RE.match(self.dataset) or self.dataset.endswith("-"):
            raise SpecError(f"invalid dataset name {self.dataset!r} (lower-case letters, digits, '-', '_', '.')")
        if not isinstance(self.scale, int) or self.scale < 1:
            raise SpecError(f"invalid scale {self.scale!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError(f"invalid seed {self.seed!r}")
        if self.size not in SIZE_PRESETS:
            raise SpecError(f"unknown size preset {self.size!r}; known: {', '.join(SIZE_PRESETS)}")

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.dataset}-x{self.scale}-{self.loss}-s{self.seed}"

    @property
    def seedless(self) -> tuple[str, str, int, str, str]:
        """Key shared by specs equal but for the seed (seed groups / triplets)."""
        return (self.arch, self.dataset, self.scale, self.loss, self.size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(**{k: data[k] for k in ("arch", "dataset", "scale", "loss", "seed") if k in data},
                   size=data.get("size", "tiny"))


def parse_model_id(model_id: str, size: str = "tiny") -> ModelSpec:
    """Parse ``{ARCH}-{dataset}-x{scale}-{loss}-s{seed}`` into a :class:`ModelSpec`.

    Raises
    ------
    SpecError
        If the id does not have that shape or names an unknown arch / loss.
    """
    m = _ID_RE.match(model_id.strip())
    if not m:
        raise SpecError(
            f"cannot parse model id {model_id!r}; expected ARCH-dataset-xSCALE-LOSS-sSEED, "
            "e.g. RCAN-div2k-x4-VGG+Adv-s2"
        )
    return ModelSpec(m["arch"], m["dataset"], int(m["scale"]), m["loss"], int(m["seed"]), size=size)


@dataclass
class Grid:
    """A named list of specs plus training settings shared by the grid."""

    name: str
    specs: list[ModelSpec]
    iters: int = 1000
    datasets: dict[str, str] = field(default_factory=dict)  # dataset name -> folder (custom grids)
    description: str = ""

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.specs]


def paper_grid() -> Grid:
    """The reference study's 180 models: 5 archs x 4 training sets x 2 scales x 3 losses x seeds,
    keeping only specs with seed 1 or dataset div2k."""
    datasets = ("div2k", "flickr2k", "quarter-div2k", "quarter-flickr2k")
    specs = [
        ModelSpec(a, d, s, loss, seed, size="paper")
        for a, d, s, loss, seed in itertools.product(ARCHS, datasets, SCALES, LOSSES, (1, 2, 3))
        if seed == 1 or d == "div2k"
    ]
    return Grid("paper", specs, iters=300_000, description="Reference study grid (180 models, paper sizes)")


def mini_grid() -> Grid:
    """CPU-sized grid of 60 tiny models.

    * 30 base models: 5 archs x {x2, x4} x 3 losses on ``bsds`` (BSDS500 train+test), seed 1;
    * 12 seed triplets (seeds 2, 3 added): every arch at x4/L1 and x2/VGG+Adv, plus
      EDSR x2 ResNet+Adv and RCAN x4 ResNet+Adv;
    * a second training set, ``photos`` (SunHays80 + Urban100 + LIVE1 + McMaster), for EDSR at every
      scale x loss.
    """
    specs = [ModelSpec(a, "bsds", s, loss, 1) for a, s, loss in itertools.product(ARCHS, SCALES, LOSSES)]
    triplets = [(a, 4, "L1") for a in ARCHS] + [(a, 2, "VGG+Adv") for a in ARCHS]
    triplets += [("EDSR", 2, "ResNet+Adv"), ("RCAN", 4, "ResNet+Adv")]
    specs += [ModelSpec(a, "bsds", s, loss, seed) for a, s, loss in triplets for seed in (2, 3)]
    specs += [ModelSpec("EDSR", "photos", s, loss, 1) for s, loss in itertools.product(SCALES, LOSSES)]
    return Grid("mini", specs, iters=400, description="CPU-sized study grid (60 tiny models)")


def demo_grid() -> Grid:
    """A handful of tiny models trained on scikit-image's bundled photos (for ``srprint demo``)."""
    specs = [
        ModelSpec("EDSR", "skimage", 2, "L1", 1),
        ModelSpec("EDSR", "skimage", 2, "L1", 2),
        ModelSpec("RCAN", "skimage", 2, "L1", 1),
        ModelSpec("EDSR", "skimage", 4, "L1", 1),
        ModelSpec("RDN", "skimage", 4, "VGG+Adv", 1),
    ]
    return Grid("demo", specs, iters=500, description="Demo grid (5 tiny models on scikit-image photos)")


PRESETS = {"paper": paper_grid, "mini": mini_grid, "demo": demo_grid}


def get_grid(preset: str) -> Grid:
    if preset not in PRESETS:
        raise SpecError(f"unknown grid preset {preset!r}; known: {', '.join(PRESETS)} (or pass a YAML file)")
    return PRESETS[preset]()


def load_grid(path: str | Path) -> Grid:
    """Load a custom grid from YAML.

    Either an explicit ``models:`` list of ids, or a ``product:`` of value lists, e.g.::

        name: mygrid
        size: tiny
        iters: 500
        datasets: {mine: /data/my_photos}
        product: {arch: [EDSR, RCAN], dataset: [mine], scale: [2], loss: [L1], seed: [1, 2]}

    Raises
    ------
    SpecError
        On: "unknown grid key(s) …"; or "product needs …".
    """
    data = load_yaml(path)
    allowed = {"name", "size", "iters", "datasets", "models", "product", "description"}
    unknown = set(data) - allowed
    if unknown:
        raise SpecError(f"{path}: unknown grid key(s) {', '.join(sorted(unknown))}")
    size = data.get("size", "tiny")
    specs: list[ModelSpec] = [parse_model_id(i, size=size) for i in data.get("models", [])]
    if "product" in data:
        prod = data["product"]
        keys = ("arch", "dataset", "scale", "loss", "seed")
        missing = [k for k in keys if k not in prod]
        if missing:
            raise SpecError(f"{path}: product needs {', '.join(missing)}")
        for vals in itertools.product(*(prod[k] for k in keys)):
            specs.append(ModelSpec(*vals, size=size))  # type: ignore[arg-type]
    if not specs:
        raise SpecError(f"{path}: the grid lists no models (give 'models' or 'product')")
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{path}: duplicate model ids in grid")
    return Grid(data.get("name", Path(path).stem), specs, iters=int(data.get("iters", 1000)),
                datasets={k: str(v) for k, v in (data.get("datasets") or {}).items()},
                description=data.get("description", ""))


def resolve_grid(preset_or_path: str) -> Grid:
    """A preset name or a YAML path."""
    if preset_or_path in PRESETS:
        return get_grid(preset_or_path)
    if preset_or_path.endswith((".yaml", ".yml")) or Path(preset_or_path).is_file():
        return load_grid(preset_or_path)
    return get_grid(preset_or_path)


def grid_of(preset: str | None, config: str | Path | None) -> Grid:
    """The grid a command names: the YAML ``config`` when given, else the ``preset`` (default ``mini``).

    Parameters
    ----------
    preset : str, optional
        A grid preset name (``paper``, ``mini``, ``demo``).
    config : str or Path, optional
        A custom grid YAML; it overrides ``preset``.

    Returns
    -------
    Grid
        The grid.

    Raises
    ------
    SpecError
        If the preset is unknown or the YAML is not a valid grid.
    """
    if config is not None:
        return load_grid(config)
    return resolve_grid(preset or "mini")
