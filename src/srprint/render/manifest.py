"""``RenderedDataset``: a folder of rendered PNGs plus one parquet manifest, and ``where`` filters.

Manifest columns (one row per image):

==============  =====================================================================
path            PNG path relative to the dataset root
model_id        zoo id of the model that made the image, or ``HR`` for real photos
source          ``trained`` | ``imported`` | ``real``
arch, dataset, loss, task, size   str labels ("" when unknown / not applicable)
scale, seed     int labels (0 / -1 when not applicable, e.g. for ``HR``)
image_id        id of the source photo (the split unit)
split           ``train`` | ``val`` | ``test`` (by source image, identical for every model)
width, height   image size
labels_json     JSON of every label of the model (imported models' own labels included)
==============  =====================================================================

Filters (``--where``) are comma-separated conditions over these columns, all of which must hold:
``key=value``, ``key!=value``, ``key=a|b`` (any of), ``key>n``, ``key>=n``, ``key<n``, ``key<=n``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DatasetError
from ..io.atomic import atomic_save

MANIFEST = "manifest.parquet"
REAL_CLASS = "HR"
COLUMNS: dict[str, pa.DataType] = {
    "path": pa.string(), "model_id": pa.string(), "source": pa.string(), "arch": pa.string(),
    "dataset": pa.string(), "loss": pa.string(), "task": pa.string(), "size": pa.string(), "scale": pa.int64(),
    "seed": pa.int64(), "image_id": pa.string(), "split": pa.string(), "width": pa.int64(), "height": pa.int64(),
    "labels_json": pa.string(),
}
SCHEMA = pa.schema([(k, v) for k, v in COLUMNS.items()])
_COND = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")


def parse_where(expr: str | None) -> list[tuple[str, str, str]]:
    """Parse ``"scale=4,loss!=L1"`` into ``[(column, op, value), ...]``.

    Raises
    ------
    DatasetError
        On: "cannot parse filter condition … (use key=value, key!=value, key>=n, ...)".
    """
    if not expr or not expr.strip():
        return []
    out = []
    for part in expr.split(","):
        m = _COND.match(part)
        if not m:
            raise DatasetError(f"cannot parse filter condition {part!r} (use key=value, key!=value, key>=n, ...)")
        out.append((m[1], m[2], m[3]))
    return out


def apply_where(df: pd.DataFrame, expr: str | None) -> pd.DataFrame:
    """Rows of ``df`` matching the filter expression (see module docstring).

    Raises
    ------
    DatasetError
        On: "unknown column … in filter; columns: …"; or "filter …: … is numeric".
    """
    mask = pd.Series(True, index=df.index)
    for col, op, val in parse_where(expr):
        if col not in df.columns:
            raise DatasetError(f"unknown column {col!r} in filter; columns: {', '.join(df.columns)}")
        s = df[col]
        numeric = pd.api.types.is_numeric_dtype(s)
        if op in ("=", "!="):
            vals = val.split("|")
            if numeric:
                try:
                    vals = [float(v) for v in vals]  # type: ignore[misc]
                except ValueError as exc:
                    raise DatasetError(f"filter {col}{op}{val}: {col} is numeric") from exc
            m = s.isin(vals)
            mask &= m if op == "=" else ~m
        else:
            try:
                num = float(val)
            except ValueError as exc:
                raise DatasetError(f"filter {col}{op}{val}: comparison needs a number") from exc
            mask &= {">": s > num, ">=": s >= num, "<": s < num, "<=": s <= num}[op]
    return df[mask]


@dataclass
class RenderedDataset:
    """A rendered dataset folder (see module docstring for the manifest)."""

    root: Path
    frame: pd.DataFrame

    @classmethod
    def open(cls, root: str | Path, where: str | None = None) -> RenderedDataset:
        root = Path(root)
        man = root / MANIFEST
        if not man.is_file():
            raise DatasetError(f"not a rendered dataset (no {MANIFEST}): {root}")
        try:
            df = pq.read_table(man).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise DatasetError(f"{man}: corrupt manifest ({exc})") from exc
        ds = cls(root, df)
        if where:
            ds = ds.filter(where)
        return ds

    def filter(self, where: str | None) -> RenderedDataset:
        df = apply_where(self.frame, where)
        if df.empty:
            raise DatasetError(f"filter {where!r} matches no image in {self.root}")
        return RenderedDataset(self.root, df.reset_index(drop=True))

    def split(self, name: str) -> pd.DataFrame:
        return self.frame[self.frame["split"] == name].reset_index(drop=True)

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    @property
    def model_ids(self) -> list[str]:
        return sorted(self.frame["model_id"].unique())

    def labels(self, row: pd.Series) -> dict[str, Any]:
        return json.loads(row["labels_json"]) if row.get("labels_json") else {}

    def __len__(self) -> int:
        return len(self.frame)


def write_manifest(root: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Atomically write the manifest (rows sorted by model id, then image id)."""
    root = Path(root)
    rows = sorted(rows, key=lambda r: (r["model_id"], r["image_id"]))
    table = pa.Table.from_pylist([{k: r.get(k) for k in COLUMNS} for r in rows], schema=SCHEMA)
    atomic_save(root / MANIFEST, lambda tmp: pq.write_table(table, str(tmp)))
    return root / MANIFEST
