"""Every registered architecture, detector, backbone, degradation and attack works on a tiny input,
and every published family has its own test file on real checkpoints.

Parameterised over the registries themselves: a new entry in any of them gets its test here, and
fails until it builds, runs and (for a detector) recognises its own architecture's weights.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

import srprint.zoo.imports  # noqa: F401  (registers detectors and readers)
from srprint.classify.backbones import create_backbone, list_backbones
from srprint.verification.attacks import get_attack, list_attacks
from srprint.verification.task_operators import apply_degradation, get_degradation, list_degradations
from srprint.zoo.archs import arch_config, create_arch, get_arch, list_archs
from srprint.zoo.detection import DETECTORS
from srprint.zoo.families import DETECTORS as DETECTOR_FAMILIES
from srprint.zoo.families import NETWORKS

torch.set_num_threads(1)
HEAVY_ARCHS = {"SwinIR"}  # 64 px windows: run at their own multiple below


def _smallest_config(name: str) -> dict:
    info = get_arch(name)
    return arch_config(name, "tiny" if "tiny" in info.presets else next(iter(info.presets)))


@pytest.mark.parametrize("name", list_archs())
def test_every_architecture_builds_and_upsamples(name: str) -> None:
    info = get_arch(name)
    scale = info.scales[0]
    torch.manual_seed(0)
    net = create_arch(name, scale, config=_smallest_config(name)).eval()
    channels = 1 if name in ("DnCNN-BN", "VDSR") or "grey" in info.tags else 3
    side = 16
    x = torch.rand(1, channels, side, side)
    with torch.no_grad():
        try:
            y = net(x)
        except RuntimeError:  # a grey/colour guess that does not fit: try the other channel count
            x = torch.rand(1, 4 - channels, side, side)
            y = net(x)
    assert y.shape[-2:] == (side * scale, side * scale)
    assert torch.isfinite(y).all()


DETECTED_ARCHS = [name for name in DETECTORS if name in list_archs()]


def test_every_detector_has_a_registered_architecture() -> None:
    assert set(DETECTORS) <= set(list_archs()) | {"spandrel"}, set(DETECTORS) - set(list_archs())


@pytest.mark.parametrize("name", DETECTED_ARCHS)
def test_every_detector_recognises_its_architectures_weights(name: str) -> None:
    info = get_arch(name)
    scale = info.scales[-1]
    torch.manual_seed(0)
    config = arch_config(name, "paper") if "paper" in info.presets else _smallest_config(name)
    state = create_arch(name, scale, config=config).state_dict()
    det = DETECTORS[name](dict(state))
    assert det is not None, f"{name}'s detector does not recognise {name} weights"
    assert det.arch == name and det.scale == scale


@pytest.mark.parametrize("name", list_backbones())
def test_every_backbone_classifies(name: str) -> None:
    torch.manual_seed(0)
    net = create_backbone(name, 3).eval()
    with torch.no_grad():
        logits = net(torch.rand(1, 3, 64, 64))
    assert logits.shape == (1, 3) and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", list_degradations())
def test_every_degradation_keeps_the_image_valid(name: str) -> None:
    x = torch.rand(1, 3, 32, 32)
    scale = 2 if get_degradation(name).upscales else 1
    y = apply_degradation(name, x, scale=scale)
    assert y.shape[:2] == x.shape[:2] and torch.isfinite(y).all()


# the network each attack is tried on: foldbn needs a BatchNorm to fold
ATTACK_NETS = {"foldbn": ("DnCNN-BN", 1, {"depth": 3, "channels": 1, "features": 8}, 1)}
DEFAULT_NET = ("EDSR", 2, {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0}, 3)


@pytest.mark.parametrize("name", list_attacks())
def test_every_attack_returns_a_working_model(name: str, tmp_path) -> None:  # noqa: ANN001
    from srprint.io.checkpoints import save_weights
    from srprint.zoo.entry import ZooEntry
    from srprint.zoo.model import load_model

    arch, scale, config, channels = ATTACK_NETS.get(name, DEFAULT_NET)
    torch.manual_seed(0)
    net = create_arch(arch, scale, config=config)
    folder = tmp_path / "m"
    folder.mkdir()
    save_weights(folder / "model.safetensors", net.state_dict())
    entry = ZooEntry(id="m", source="trained", arch=arch, scale=scale, task="sr" if scale > 1 else "denoise",
                     arch_config=config, grey=channels == 1, residual=scale == 1, path=folder)
    entry.save(folder)
    attack = get_attack(name)
    params = dict(attack.defaults)
    if name == "finetune":
        params.update(iters=2, data="skimage", patch=16, batch=2)
    if name == "prune-channels":
        params.update(recover=2)
    state = attack.fn(entry, {k: v.clone() for k, v in net.state_dict().items()}, params, "cpu")
    if isinstance(state, tuple):  # a structural edit: the record says how to rebuild the edited network
        state, record = state
        entry.loader = record["loader"]
        entry.labels = {**entry.labels, "surgery": record["surgery"]}
    out_folder = tmp_path / "attacked"
    out_folder.mkdir()
    save_weights(out_folder / "model.safetensors", {k: v.contiguous() for k, v in state.items()})
    entry.save(out_folder)
    model = load_model(out_folder)
    with torch.no_grad():
        out = model.infer(torch.rand(1, 3, 12, 12))
    assert out.shape[-2:] == (12 * scale, 12 * scale) and math.isfinite(float(out.abs().sum()))


FAMILY_TESTS = Path(__file__).parent / "zoo" / "families"


def _family_of(arch: str) -> str | None:
    module = get_arch(arch).builder.__module__
    return module.split(".")[3] if module.startswith("srprint.zoo.families.") else None


@pytest.mark.parametrize("family", NETWORKS)
def test_every_published_family_has_its_test_file_on_real_checkpoints(family: str) -> None:
    test = FAMILY_TESTS / f"test_{family}.py"
    assert test.is_file(), f"family {family} has no {test.relative_to(FAMILY_TESTS.parents[1])}"
    text = test.read_text()
    assert re.search(r'\.(pth|pt|pb|h5|mat|safetensors)"', text), f"{test.name} names no published checkpoint file"
    for arch in [a for a in list_archs() if _family_of(a) == family and a in DETECTORS]:
        assert f'"{arch}"' in text, f"{test.name} never names its detected architecture {arch}"


def test_every_port_lives_in_a_listed_family() -> None:
    ports = [a for a in list_archs() if "port" in get_arch(a).tags]
    assert all(_family_of(a) in NETWORKS for a in ports), [a for a in ports if _family_of(a) not in NETWORKS]
    assert set(DETECTOR_FAMILIES) <= set(NETWORKS)
