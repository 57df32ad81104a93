"""Hyperparameter schemas: validation errors, encoding, the gm_labels table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from srprint.config import shared_data_dir
from srprint.parsing.schema import (
    GM_CONTINUOUS,
    HyperparamSchema,
    SchemaError,
    Target,
    gm_schema,
    load_gm_labels,
    zoo_schema,
)


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_id": ["a", "b", "c", "d"],
            "n_conv": [10, 20, 30, 20],
            "scale": [2, 4, 2, 4],
            "loss": ["L1", "VGG+Adv", "ResNet+Adv", "L1"],
        }
    )


def test_fit_and_encode_min_max_and_hierarchy() -> None:
    schema = HyperparamSchema(
        [
            Target("n_conv", "continuous"),
            Target("scale", "discrete"),
            Target(
                "loss",
                "discrete",
                classes=["L1", "VGG+Adv", "ResNet+Adv"],
                hierarchy={"pixel": ["L1"], "adversarial": ["VGG+Adv", "ResNet+Adv"]},
            ),
        ]
    ).fit(_table())
    enc = schema.encode(_table())
    np.testing.assert_allclose(enc.continuous[:, 0], [0.0, 0.5, 1.0, 0.5])
    assert schema.get("scale").classes == ["2", "4"]
    assert enc.discrete["scale"].tolist() == [0, 1, 0, 1]
    assert enc.discrete["loss"].tolist() == [0, 1, 2, 0]
    assert enc.coarse["loss"].tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(schema.denormalise(enc.continuous)[:, 0], [10, 20, 30, 20])
    # round trip through the dict form keeps the fitted ranges
    again = HyperparamSchema.from_dict(schema.to_dict())
    assert again.get("n_conv").lo == 10 and again.get("n_conv").hi == 30


def test_zero_range_continuous_is_a_clear_error() -> None:
    table = _table().assign(n_conv=7)
    with pytest.raises(SchemaError, match="n_conv.*zero range"):
        HyperparamSchema([Target("n_conv", "continuous")]).fit(table)


def test_single_class_and_missing_column_and_unknown_value() -> None:
    with pytest.raises(SchemaError, match="single class"):
        HyperparamSchema([Target("scale", "discrete")]).fit(_table().assign(scale=4))
    with pytest.raises(SchemaError, match="needs column.*n_blocks"):
        HyperparamSchema([Target("n_blocks", "continuous")]).fit(_table())
    with pytest.raises(SchemaError, match="outside its classes"):
        HyperparamSchema([Target("loss", "discrete", classes=["L1", "VGG+Adv"])]).fit(_table())
    with pytest.raises(SchemaError, match="exactly one group"):
        HyperparamSchema([Target("loss", "discrete", hierarchy={"pixel": ["L1"], "adv": ["VGG+Adv"]})]).fit(_table())
    with pytest.raises(SchemaError, match="unknown kind"):
        Target("x", "ordinal")


def test_zoo_schema_drops_constant_targets_and_builds_loss_hierarchy() -> None:
    table = _table().assign(upsampler="pixelshuffle", arch=["EDSR", "RCAN", "EDSR", "RCAN"])
    schema = zoo_schema(table)
    names = [t.name for t in schema.targets]
    assert "upsampler" not in names and "n_conv" in names and "arch" in names
    assert schema.get("loss").hierarchy == {"pixel": ["L1"], "adversarial": ["VGG+Adv", "ResNet+Adv"]}


def test_gm_labels_table_loads_and_fits() -> None:
    folder = shared_data_dir() / "gm_labels"
    if not (folder / "architecture.csv").is_file():
        import os

        if os.environ.get("CI") == "true":
            pytest.fail(f"gm_labels missing at {folder}")
        pytest.skip("gm_labels not available")
    table = load_gm_labels(folder)
    assert len(table) == 100 and table["model_id"].is_unique
    assert "DEEPFOOL" in set(table["model_id"])  # the architecture table's DEEPOOL alias is resolved
    schema = gm_schema(table)
    enc = schema.encode(table)
    assert enc.continuous.shape == (100, len(GM_CONTINUOUS))
    assert enc.continuous.min() == 0.0 and enc.continuous.max() == 1.0
    assert enc.multilabel["loss"].shape == (100, 8)
    # coarse flag = any fine flag of its group
    pixel = enc.multilabel["loss"][:, :4].max(1)
    np.testing.assert_array_equal(enc.coarse["loss"][:, 0], pixel)


def test_gm_labels_mismatch_is_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "architecture.csv").write_text("gm,n_layers\nA,1\nB,2\n")
    (tmp_path / "loss.csv").write_text("gm,L1\nA,1\nC,0\n")
    with pytest.raises(SchemaError, match="only one table"):
        load_gm_labels(tmp_path)
    (tmp_path / "loss.csv").write_text("gm,L1\nA,1\nB,0\n")
    table = load_gm_labels(tmp_path)
    with pytest.raises(SchemaError, match="needs column"):  # the gm schema does not match this table
        gm_schema(table)
