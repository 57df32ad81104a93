"""Hyperparameter schemas: which targets a parser predicts, and how each is encoded.

A :class:`HyperparamSchema` lists :class:`Target` records of three kinds:

* ``continuous`` — a number, min-max normalised to ``[0, 1]`` over the label table (regression);
* ``discrete`` — one class out of ``classes`` (classification, weighted cross-entropy);
* ``multilabel`` — several binary flags (one column per class in the table).

Discrete and multi-label targets may carry a two-level ``hierarchy`` (coarse group -> fine
members), e.g. loss types: pixel {L1} vs adversarial {VGG+Adv, ResNet+Adv}. The same schema
machinery serves the srprint zoo (:func:`zoo_schema`) and other labelled model populations such as
the 100 generative models of Asnani et al. (:func:`load_gm_labels`, :func:`gm_schema`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DatasetError

KINDS = ("continuous", "discrete", "multilabel")

# loss hierarchy of the srprint zoo (srprint.zoo.losses.LOSS_FAMILY)
ZOO_LOSS_HIERARCHY: dict[str, tuple[str, ...]] = {"pixel": ("L1",), "adversarial": ("VGG+Adv", "ResNet+Adv")}
# coarse loss groups of Asnani et al. (README of gm_labels)
GM_LOSS_HIERARCHY: dict[str, tuple[str, ...]] = {
    "pixel": ("L1", "L2", "MSE", "MMD"),
    "discriminator": ("WGAN", "KL", "Adversarial"),
    "classification": ("CE",),
}
GM_CONTINUOUS = (
    "n_layers",
    "n_conv_layers",
    "n_fc_layers",
    "n_pool_layers",
    "n_norm_layers",
    "n_filters",
    "n_blocks",
    "n_layers_per_block",
    "n_params",
)
GM_DISCRETE = (
    "norm_type",
    "last_nonlinearity",
    "block_nonlinearity",
    "upsampling_type",
    "skip_connection",
    "downsampling",
)
# names spelled differently in the two tables of the gm_labels folder
GM_NAME_ALIASES = {"DEEPOOL": "DEEPFOOL"}


class SchemaError(DatasetError):
    """A schema does not fit its label table (missing column, zero range, single class ...)."""


@dataclass
class Target:
    """One hyperparameter to predict.

    Parameters
    ----------
    name : str
        Target name; for continuous / discrete targets also the label-table column.
    kind : str
        ``continuous``, ``discrete`` or ``multilabel``.
    classes : list of str
        Discrete classes, or the flag columns of a multi-label target. Empty: inferred from the table.
    hierarchy : dict
        Optional ``coarse -> [fine classes]`` grouping (every class in exactly one group).
    log : bool
        Continuous only: regress ``log10(1 + x)`` (for parameter counts spanning decades).
    """

    name: str
    kind: str
    classes: list[str] = field(default_factory=list)
    hierarchy: dict[str, list[str]] = field(default_factory=dict)
    log: bool = False
    lo: float | None = None  # min / max of the (transformed) continuous values, set by fit()
    hi: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SchemaError(f"target {self.name!r}: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
        self.classes = [str(c) for c in self.classes]
        self.hierarchy = {str(k): [str(c) for c in v] for k, v in self.hierarchy.items()}
        if self.hierarchy and self.kind == "continuous":
            raise SchemaError(f"target {self.name!r}: a continuous target cannot have a hierarchy")

    @property
    def coarse_classes(self) -> list[str]:
        return list(self.hierarchy)

    def coarse_of(self) -> dict[str, str]:
        """Fine class -> its coarse group."""
        return {c: g for g, members in self.hierarchy.items() for c in members}

    def columns(self) -> list[str]:
        return list(self.classes) if self.kind == "multilabel" else [self.name]


@dataclass
class EncodedLabels:
    """Numeric labels of a table under a fitted schema (rows follow the table)."""

    continuous: np.ndarray  # (N, n_continuous) in [0, 1]
    discrete: dict[str, np.ndarray]  # name -> (N,) int class index
    multilabel: dict[str, np.ndarray]  # name -> (N, n_flags) {0, 1}
    coarse: dict[str, np.ndarray]  # hierarchical target -> (N,) coarse index (discrete) or (N, G) flags


@dataclass
class HyperparamSchema:
    """An ordered list of targets plus the helpers to validate and encode a label table."""

    targets: list[Target]
    key: str = "model_id"  # the column naming the model (one row per model)

    def __post_init__(self) -> None:
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise SchemaError(f"duplicate target names in schema: {names}")
        if not self.targets:
            raise SchemaError("a schema needs at least one target")

    # -- views -------------------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Target]:
        return [t for t in self.targets if t.kind == kind]

    @property
    def continuous(self) -> list[Target]:
        return self.of_kind("continuous")

    @property
    def discrete(self) -> list[Target]:
        return self.of_kind("discrete")

    @property
    def multilabel(self) -> list[Target]:
        return self.of_kind("multilabel")

    def get(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise SchemaError(f"schema has no target {name!r}; targets: {', '.join(t.name for t in self.targets)}")

    # -- validation + fitting ----------------------------------------------------------------
    def validate(self, table: pd.DataFrame, where: str = "label table") -> None:
        """Check that ``table`` fits the schema; raise :class:`SchemaError` naming the problem.

        Raises
        ------
        SchemaError
            On: "no key column … (columns: …)"; or "the table has no rows".
        """
        if self.key not in table.columns:
            raise SchemaError(f"{where}: no key column {self.key!r} (columns: {', '.join(map(str, table.columns))})")
        if table.empty:
            raise SchemaError(f"{where}: the table has no rows")
        for t in self.targets:
            missing = [c for c in t.columns() if c not in table.columns]
            if missing:
                raise SchemaError(
                    f"{where}: target {t.name!r} needs column(s) {', '.join(missing)} which the table lacks"
                )
            if t.kind == "continuous":
                vals = pd.to_numeric(table[t.name], errors="coerce")
                if vals.isna().any():
                    bad = table.loc[vals.isna(), t.name].iloc[0]
                    raise SchemaError(f"{where}: continuous target {t.name!r} has a non-numeric value {bad!r}")
                if float(vals.max()) == float(vals.min()):
                    raise SchemaError(
                        f"{where}: continuous target {t.name!r} has zero range "
                        f"(every value is {vals.iloc[0]}); drop it or add varied models"
                    )
            elif t.kind == "discrete":
                vals = table[t.name].astype(str)
                if t.classes:
                    unknown = sorted(set(vals) - set(t.classes))
                    if unknown:
                        raise SchemaError(
                            f"{where}: target {t.name!r} has value(s) {unknown} outside its classes {t.classes}"
                        )
                if vals.nunique() < 2:
                    raise SchemaError(
                        f"{where}: discrete target {t.name!r} has a single class "
                        f"({vals.iloc[0]!r}) in every row; nothing to learn"
                    )
            else:
                for c in t.classes:
                    vals = pd.to_numeric(table[c], errors="coerce")
                    if vals.isna().any() or not set(vals.unique()) <= {0, 1}:
                        raise SchemaError(f"{where}: multi-label flag {c!r} of {t.name!r} must be 0/1")
            if t.hierarchy:
                members = [c for ms in t.hierarchy.values() for c in ms]
                classes = t.classes or sorted(table[t.name].astype(str).unique())
                if sorted(members) != sorted(set(members)) or set(members) != set(classes):
                    raise SchemaError(
                        f"{where}: hierarchy of {t.name!r} must place each class in exactly one "
                        f"group (classes {sorted(classes)}, groups {t.hierarchy})"
                    )

    def fit(self, table: pd.DataFrame, where: str = "label table") -> HyperparamSchema:
        """Validate, then fix the classes (when inferred) and continuous ranges from ``table``."""
        self.validate(table, where)
        out = []
        for t in self.targets:
            t2 = Target(**asdict(t))
            if t.kind == "discrete" and not t.classes:
                t2.classes = sorted(table[t.name].astype(str).unique(), key=_natural_key)
            if t.kind == "continuous":
                vals = _transform(table[t.name].to_numpy(dtype=np.float64), t.log)
                t2.lo, t2.hi = float(vals.min()), float(vals.max())
            out.append(t2)
        return HyperparamSchema(out, key=self.key)

    def encode(self, table: pd.DataFrame) -> EncodedLabels:
        """Encode ``table`` with this (fitted) schema; unseen discrete values raise :class:`SchemaError`.

        Raises
        ------
        SchemaError
            On: "schema is not fitted (call fit(table) first)"; or "target …: value(s) … not among classes …".
        """
        n = len(table)
        cont = np.zeros((n, len(self.continuous)), dtype=np.float32)
        for j, t in enumerate(self.continuous):
            if t.lo is None or t.hi is None:
                raise SchemaError("schema is not fitted (call fit(table) first)")
            cont[:, j] = (_transform(table[t.name].to_numpy(dtype=np.float64), t.log) - t.lo) / (t.hi - t.lo)
        disc: dict[str, np.ndarray] = {}
        coarse: dict[str, np.ndarray] = {}
        for t in self.discrete:
            idx = {c: i for i, c in enumerate(t.classes)}
            vals = table[t.name].astype(str)
            unknown = sorted(set(vals) - set(idx))
            if unknown:
                raise SchemaError(f"target {t.name!r}: value(s) {unknown} not among classes {t.classes}")
            disc[t.name] = vals.map(idx).to_numpy(dtype=np.int64)
            if t.hierarchy:
                cmap = t.coarse_of()
                gidx = {g: i for i, g in enumerate(t.hierarchy)}
                coarse[t.name] = vals.map(lambda v, cmap=cmap, gidx=gidx: gidx[cmap[v]]).to_numpy(dtype=np.int64)
        multi: dict[str, np.ndarray] = {}
        for t in self.multilabel:
            flags = table[list(t.classes)].to_numpy(dtype=np.float32)
            multi[t.name] = flags
            if t.hierarchy:
                cols = [[t.classes.index(c) for c in members] for members in t.hierarchy.values()]
                coarse[t.name] = np.stack([flags[:, c].max(axis=1) for c in cols], axis=1)
        return EncodedLabels(cont, disc, multi, coarse)

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        """Map normalised continuous predictions ``(N, n_continuous)`` back to the table's units."""
        out = np.array(values, dtype=np.float64, copy=True)
        for j, t in enumerate(self.continuous):
            assert t.lo is not None and t.hi is not None
            v = out[:, j] * (t.hi - t.lo) + t.lo
            out[:, j] = np.expm1(v * np.log(10)) if t.log else v
        return out

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "targets": [asdict(t) for t in self.targets]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HyperparamSchema:
        if not isinstance(data, dict) or "targets" not in data:
            raise SchemaError("schema must be a mapping with a 'targets' list")
        targets = []
        for i, t in enumerate(data["targets"]):
            if not isinstance(t, dict) or "name" not in t or "kind" not in t:
                raise SchemaError(f"schema target #{i} needs 'name' and 'kind'")
            allowed = {"name", "kind", "classes", "hierarchy", "log", "lo", "hi"}
            unknown = sorted(set(t) - allowed)
            if unknown:
                raise SchemaError(f"schema target {t['name']!r}: unknown key(s) {', '.join(unknown)}")
            targets.append(Target(**t))
        return cls(targets, key=data.get("key", "model_id"))

    @classmethod
    def from_yaml(cls, path: str | Path) -> HyperparamSchema:
        from ..config import load_yaml

        return cls.from_dict(load_yaml(path))


def _transform(values: np.ndarray, log: bool) -> np.ndarray:
    return np.log10(1.0 + np.maximum(values, 0.0)) if log else values


def _natural_key(v: str) -> tuple[int, float | str]:
    try:
        return (0, float(v))
    except ValueError:
        return (1, v)


# ---------------------------------------------------------------------------------------------
# the srprint zoo
# ---------------------------------------------------------------------------------------------
ZOO_CONTINUOUS = ("n_conv", "n_linear", "n_norm", "n_attention", "n_params", "n_blocks", "n_skip", "depth")
ZOO_DISCRETE = ("scale", "arch", "dataset", "upsampler")


def zoo_schema(table: pd.DataFrame, drop_constant: bool = True) -> HyperparamSchema:
    """The parsing schema of a zoo label table (see :func:`srprint.parsing.archstats.zoo_label_table`).

    Continuous: architecture statistics derived from the modules (parameter count in log10);
    discrete: scale, arch, training set, upsampler type; ``loss`` discrete with the hierarchy
    pixel {L1} vs adversarial {VGG+Adv, ResNet+Adv}. Targets that do not vary across ``table``
    are dropped when ``drop_constant`` (e.g. every zoo arch uses pixel-shuffle upsampling).
    """
    targets: list[Target] = []
    for name in ZOO_CONTINUOUS:
        if name in table.columns and (not drop_constant or table[name].nunique() > 1):
            targets.append(Target(name, "continuous", log=name == "n_params"))
    for name in ZOO_DISCRETE:
        if name in table.columns and (not drop_constant or table[name].astype(str).nunique() > 1):
            targets.append(Target(name, "discrete"))
    if "loss" in table.columns and (not drop_constant or table["loss"].nunique() > 1):
        present = set(table["loss"].astype(str))
        hier = {g: [c for c in ms if c in present] for g, ms in ZOO_LOSS_HIERARCHY.items()}
        hier = {g: ms for g, ms in hier.items() if ms}
        extra = sorted(present - {c for ms in hier.values() for c in ms})
        if extra:  # losses outside the known families (imported models): their own group
            hier["other"] = extra
        classes = [c for ms in hier.values() for c in ms]
        targets.append(Target("loss", "discrete", classes=classes, hierarchy=hier if len(hier) > 1 else {}))
    return HyperparamSchema(targets).fit(table, "zoo label table")


# ---------------------------------------------------------------------------------------------
# the 100 generative models of Asnani et al.
# ---------------------------------------------------------------------------------------------
def load_gm_labels(folder: str | Path) -> pd.DataFrame:
    """Read ``architecture.csv`` + ``loss.csv`` of a gm_labels folder into one table keyed ``model_id``.

    Raises
    ------
    SchemaError
        Missing files, or model names present in one table only (after known aliases).
    """
    folder = Path(folder)
    files = {name: folder / f"{name}.csv" for name in ("architecture", "loss")}
    for name, path in files.items():
        if not path.is_file():
            raise SchemaError(f"gm labels: missing {name} table {path}")
    try:
        arch = pd.read_csv(files["architecture"])
        loss = pd.read_csv(files["loss"])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SchemaError(f"gm labels in {folder}: unreadable CSV ({exc})") from exc
    for name, df in (("architecture", arch), ("loss", loss)):
        if "gm" not in df.columns:
            raise SchemaError(f"{files[name]}: no 'gm' column naming the models")
        df["gm"] = df["gm"].astype(str).str.strip().replace(GM_NAME_ALIASES)
    only_a = sorted(set(arch["gm"]) - set(loss["gm"]))
    only_l = sorted(set(loss["gm"]) - set(arch["gm"]))
    if only_a or only_l:
        raise SchemaError(f"gm labels: models in only one table: architecture {only_a}, loss {only_l}")
    table = arch.merge(loss, on="gm", how="inner").rename(columns={"gm": "model_id"})
    return table


def gm_schema(table: pd.DataFrame | None = None) -> HyperparamSchema:
    """Schema of the gm_labels table: 9 continuous (min-max), 6 discrete, 8 loss flags in 3 groups."""
    targets = [Target(n, "continuous", log=n == "n_params") for n in GM_CONTINUOUS]
    targets += [Target(n, "discrete") for n in GM_DISCRETE]
    classes = [c for ms in GM_LOSS_HIERARCHY.values() for c in ms]
    targets.append(
        Target(
            "loss",
            "multilabel",
            classes=classes,
            hierarchy={g: list(ms) for g, ms in GM_LOSS_HIERARCHY.items()},
        )
    )
    schema = HyperparamSchema(targets)
    return schema.fit(table, "gm label table") if table is not None else schema
