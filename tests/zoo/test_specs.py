import itertools
from pathlib import Path

import pytest

from srprint.errors import SpecError
from srprint.zoo.specs import ModelSpec, demo_grid, load_grid, mini_grid, paper_grid, parse_model_id


def test_paper_grid_has_exactly_180_distinct_ids_following_the_subset_rule() -> None:
    grid = paper_grid()
    ids = grid.ids
    assert len(ids) == 180 == len(set(ids))
    assert all(s.seed == 1 or s.dataset == "div2k" for s in grid.specs)
    full = itertools.product(("div2k", "flickr2k", "quarter-div2k", "quarter-flickr2k"), (1, 2, 3))
    kept = {(d, seed) for d, seed in full if seed == 1 or d == "div2k"}
    assert {(s.dataset, s.seed) for s in grid.specs} == kept
    for s in grid.specs:
        assert parse_model_id(s.id, size="paper") == s


def test_parse_model_id_round_trips_and_reads_fields() -> None:
    spec = parse_model_id("RCAN-quarter-div2k-x4-VGG+Adv-s2")
    assert (spec.arch, spec.dataset, spec.scale, spec.loss, spec.seed) == ("RCAN", "quarter-div2k", 4, "VGG+Adv", 2)
    assert spec.id == "RCAN-quarter-div2k-x4-VGG+Adv-s2"


@pytest.mark.parametrize("bad, match", [
    ("RCAN-div2k-4-L1-s1", "cannot parse"),
    ("FOO-div2k-x4-L1-s1", "unknown architecture"),
    ("RCAN-div2k-x4-L2-s1", "unknown loss"),
    ("RCAN-div2k-x4-L1", "cannot parse"),
    ("", "cannot parse"),
])
def test_bad_ids_raise_one_line_spec_errors(bad: str, match: str) -> None:
    with pytest.raises(SpecError, match=match) as exc:
        parse_model_id(bad)
    assert "\n" not in str(exc.value)


def test_mini_grid_meets_the_design_constraints() -> None:
    specs = mini_grid().specs
    assert len(specs) >= 60 and len({s.id for s in specs}) == len(specs)
    assert {s.arch for s in specs} == {"EDSR", "RDN", "RCAN", "NLSN", "SwinIR"}
    assert {s.scale for s in specs} == {2, 4}
    assert {s.loss for s in specs} == {"L1", "VGG+Adv", "ResNet+Adv"}
    groups: dict[tuple, set[int]] = {}
    for s in specs:
        groups.setdefault(s.seedless, set()).add(s.seed)
    assert sum(1 for seeds in groups.values() if {1, 2, 3} <= seeds) >= 12
    for scale, loss in itertools.product((2, 4), ("L1", "VGG+Adv", "ResNet+Adv")):
        per_arch: dict[str, set[str]] = {}
        for s in specs:
            if s.scale == scale and s.loss == loss:
                per_arch.setdefault(s.arch, set()).add(s.dataset)
        assert any(len(ds) >= 2 for ds in per_arch.values()), (scale, loss)
    # the render corpus never trains the zoo
    assert {s.dataset for s in specs} == {"bsds", "photos"}


def test_demo_grid_is_small_and_tiny() -> None:
    g = demo_grid()
    assert 3 <= len(g.specs) <= 8 and all(s.size == "tiny" and s.dataset == "skimage" for s in g.specs)


def test_yaml_grid_product_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "g.yaml"
    p.write_text("name: g\nproduct: {arch: [EDSR, RDN], dataset: [mine], scale: [2], loss: [L1], seed: [1, 2]}\n"
                 "datasets: {mine: /data/x}\n")
    g = load_grid(p)
    assert g.ids == ["EDSR-mine-x2-L1-s1", "EDSR-mine-x2-L1-s2", "RDN-mine-x2-L1-s1", "RDN-mine-x2-L1-s2"]
    assert g.datasets == {"mine": "/data/x"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: g\nmodels: [EDSR-a-x2-L1-s1]\nfoo: 1\n")
    with pytest.raises(SpecError, match="unknown grid key"):
        load_grid(bad)


def test_spec_rejects_bad_values() -> None:
    with pytest.raises(SpecError):
        ModelSpec("EDSR", "Bad Name", 2, "L1", 1)
    with pytest.raises(SpecError):
        ModelSpec("EDSR", "div2k", 2, "L1", 1, size="huge")
