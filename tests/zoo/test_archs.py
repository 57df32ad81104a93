import pytest
import torch

from srprint.errors import SpecError
from srprint.zoo.archs import count_parameters, create_arch, get_arch, list_archs

ARCHS = ["EDSR", "RDN", "RCAN", "NLSN", "SwinIR"]


def test_registry_lists_the_five_study_archs() -> None:
    assert set(ARCHS) <= set(list_archs())


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", ["tiny", "paper"])
@pytest.mark.parametrize("scale", [2, 4])
def test_arch_maps_input_to_scaled_output(arch: str, size: str, scale: int) -> None:
    torch.manual_seed(0)
    net = create_arch(arch, scale, size).eval()
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        y = net(x)
    assert tuple(y.shape) == (1, 3, 12 * scale, 10 * scale)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("scale", [2, 4])
def test_tiny_presets_have_at_most_400k_parameters(arch: str, scale: int) -> None:
    n = count_parameters(create_arch(arch, scale, "tiny"))
    assert 50_000 < n <= 400_000


@pytest.mark.parametrize("arch", ARCHS)
def test_paper_presets_are_much_larger_than_tiny(arch: str) -> None:
    assert count_parameters(create_arch(arch, 4, "paper")) > 10 * count_parameters(create_arch(arch, 4, "tiny"))


def test_distinctive_blocks_survive_in_tiny_presets() -> None:
    from spandrel.architectures.SwinIR.__arch.SwinIR import SwinTransformerBlock

    from srprint.zoo.archs.nlsn import NonLocalSparseAttention
    from srprint.zoo.archs.rdn import RDB

    def has(net: torch.nn.Module, kind: type) -> bool:
        return any(isinstance(m, kind) for m in net.modules())

    assert has(create_arch("RDN", 2, "tiny"), RDB)
    assert has(create_arch("NLSN", 2, "tiny"), NonLocalSparseAttention)
    swin = create_arch("SwinIR", 2, "tiny")
    blocks = [m for m in swin.modules() if isinstance(m, SwinTransformerBlock)]
    assert any(b.shift_size > 0 for b in blocks) and any(b.shift_size == 0 for b in blocks)
    rcan = create_arch("RCAN", 2, "tiny")
    assert any("CALayer" in type(m).__name__ or "ChannelAttention" in type(m).__name__ for m in rcan.modules())


def test_nlsn_is_deterministic_in_eval_mode() -> None:
    torch.manual_seed(0)
    net = create_arch("NLSN", 2, "tiny").eval()
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        a, b = net(x), net(x)
    assert torch.equal(a, b)


def test_unknown_arch_and_unsupported_scale_raise_spec_errors() -> None:
    with pytest.raises(SpecError, match="unknown architecture"):
        get_arch("VDSR9000")
    with pytest.raises(SpecError, match="scale"):
        create_arch("EDSR", 5, "tiny")
    with pytest.raises(SpecError, match="size preset"):
        create_arch("EDSR", 2, "huge")


def test_our_rcan_and_swinir_checkpoints_are_detected_by_spandrel() -> None:
    from spandrel import ModelLoader

    for arch in ("RCAN", "SwinIR"):
        net = create_arch(arch, 4, "tiny")
        desc = ModelLoader().load_from_state_dict(net.state_dict())
        assert desc.architecture.id == arch
        assert desc.scale == 4
