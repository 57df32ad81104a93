"""Architecture hyperparameters derived from modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from srprint.parsing.archstats import arch_stats, stats_for_arch, zoo_label_table


class _Toy(nn.Module):
    def __init__(self, up: nn.Module) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.up = up
        self.tail = nn.Conv2d(4, 3, 3, padding=1)
        self.register_buffer("shift", torch.ones(1, 4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x) + self.shift  # a constant offset: not a skip connection
        h = h + self.body(h)  # a residual skip
        return self.tail(self.up(h))


@pytest.mark.parametrize(
    "up, kind",
    [
        (nn.ConvTranspose2d(4, 4, 2, stride=2), "deconv"),
        (nn.Upsample(scale_factor=2), "interp"),
        (nn.Sequential(nn.Conv2d(4, 16, 1), nn.PixelShuffle(2)), "pixelshuffle"),
    ],
)
def test_toy_module_counts(up: nn.Module, kind: str) -> None:
    st = arch_stats(_Toy(up))
    assert st.upsampler == kind
    assert st.n_norm == 1 and st.n_linear == 0 and st.n_attention == 0
    assert st.n_skip == 1
    assert st.n_params == sum(p.numel() for p in _Toy(up).parameters())
    assert st.n_deconv == (1 if kind == "deconv" else 0)


def test_zoo_architectures() -> None:
    edsr = stats_for_arch("EDSR", 2)
    # tiny EDSR: head + 8 x 2 body convs + body end + 1 upsampler conv + tail = 20 convs
    assert (edsr.n_conv, edsr.n_blocks, edsr.n_skip, edsr.n_attention) == (20, 8, 9, 0)
    assert edsr.upsampler == "pixelshuffle" and edsr.depth == 20
    assert stats_for_arch("EDSR", 4).n_conv == 21  # one more x2 upsampling stage
    rcan = stats_for_arch("RCAN", 2)
    assert rcan.n_attention == 9  # 3 groups x 3 RCABs, one channel attention each
    assert rcan.n_skip == 9 + 3 + 1  # block, group and global residuals


def test_zoo_label_table_from_manifest(parsing_render) -> None:  # noqa: ANN001
    from srprint.render.manifest import RenderedDataset

    frame = RenderedDataset.open(parsing_render).frame
    table = zoo_label_table(frame=frame[frame["source"] == "trained"])
    assert len(table) == 6 and set(table["arch"]) == {"EDSR", "RCAN", "RDN"}
    row = table.set_index("model_id").loc["EDSR-skimage-x2-L1-s1"]
    assert row["n_conv"] == 20 and row["loss"] == "L1" and row["scale"] == 2
