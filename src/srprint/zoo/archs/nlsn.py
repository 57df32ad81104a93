"""NLSN (Mei et al., CVPR 2021): EDSR backbone with Non-Local Sparse Attention.

Non-local sparse attention hashes every pixel embedding into buckets with spherical LSH
(random rotations), sorts by bucket, and attends only within a chunk and its two neighbours.
The reference code draws fresh random rotations on every forward pass, which makes inference
non-deterministic; we keep that during training (seeded global RNG) but use a fixed per-module
rotation seed in eval mode, so the same model always gives the same output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import register_arch
from .common import MeanShiftedResidualNet, ResBlock, conv3x3


def _batched_index_select(values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    last_dim = values.shape[-1]
    return values.gather(1, indices[:, :, None].expand(-1, -1, last_dim))


class NonLocalSparseAttention(nn.Module):
    def __init__(
        self, channels: int, chunk_size: int = 144, n_hashes: int = 4, reduction: int = 4, res_scale: float = 1.0,
        rotation_seed: int = 0,
    ) -> None:
        super().__init__()
        self.chunk_size, self.n_hashes, self.reduction, self.res_scale = chunk_size, n_hashes, reduction, res_scale
        self.rotation_seed = rotation_seed
        self.conv_match = conv3x3(channels, channels // reduction)
        self.conv_assembly = nn.Conv2d(channels, channels, 1)

    def _hash(self, hash_buckets: int, x: torch.Tensor) -> torch.Tensor:
        n, _, c = x.shape
        shape = (1, c, self.n_hashes, hash_buckets // 2)
        if self.training:
            rotations = torch.randn(shape, device=x.device, dtype=x.dtype)
        else:
            gen = torch.Generator(device="cpu").manual_seed(self.rotation_seed)
            rotations = torch.randn(shape, generator=gen).to(device=x.device, dtype=x.dtype)
        rotated = torch.einsum("btf,bfhi->bhti", x, rotations.expand(n, -1, -1, -1))
        codes = torch.argmax(torch.cat([rotated, -rotated], dim=-1), dim=-1)  # [N, hashes, L]
        offsets = (torch.arange(self.n_hashes, device=x.device) * hash_buckets).view(1, -1, 1)
        return (codes + offsets).reshape(n, -1)

    @staticmethod
    def _add_adjacent_buckets(x: torch.Tensor) -> torch.Tensor:
        back = torch.cat([x[:, :, -1:], x[:, :, :-1]], dim=2)
        forward = torch.cat([x[:, :, 1:], x[:, :, :1]], dim=2)
        return torch.cat([x, back, forward], dim=3)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        n, _, h, w = inp.shape
        x_embed = self.conv_match(inp).view(n, -1, h * w).permute(0, 2, 1)
        y_embed = self.conv_assembly(inp).view(n, -1, h * w).permute(0, 2, 1)
        length, c = x_embed.shape[-2:]
        cy = y_embed.shape[-1]
        n_chunks = length // self.chunk_size
        hash_buckets = max(2, min(n_chunks + n_chunks % 2, 128))
        with torch.no_grad():
            codes = self._hash(hash_buckets, x_embed.detach())
            indices = codes.argsort(dim=-1, stable=True)
            undo_sort = indices.argsort(dim=-1, stable=True)
        mod_indices = indices % length
        x_sorted = _batched_index_select(x_embed, mod_indices).reshape(n, self.n_hashes, length, c)
        y_sorted = _batched_index_select(y_embed, mod_indices).reshape(n, self.n_hashes, length, cy)
        padding = (-length) % self.chunk_size
        if padding:
            pad_idx = (torch.arange(padding, device=inp.device) + length - padding) % length
            x_sorted = torch.cat([x_sorted, x_sorted[:, :, pad_idx]], dim=2)
            y_sorted = torch.cat([y_sorted, y_sorted[:, :, pad_idx]], dim=2)
        x_buckets = x_sorted.reshape(n, self.n_hashes, -1, self.chunk_size, c)
        y_buckets = y_sorted.reshape(n, self.n_hashes, -1, self.chunk_size, cy)
        x_match = self._add_adjacent_buckets(F.normalize(x_buckets, p=2, dim=-1, eps=5e-5))
        y_buckets = self._add_adjacent_buckets(y_buckets)
        raw = torch.einsum("bhkie,bhkje->bhkij", x_buckets, x_match)
        bucket_score = torch.logsumexp(raw, dim=-1, keepdim=True)
        score = torch.exp(raw - bucket_score)
        ret = torch.einsum("bukij,bukje->bukie", score, y_buckets).reshape(n, self.n_hashes, -1, cy)
        bucket_score = bucket_score.reshape(n, self.n_hashes, -1)
        if padding:
            ret, bucket_score = ret[:, :, :-padding], bucket_score[:, :, :-padding]
        ret = _batched_index_select(ret.reshape(n, -1, cy), undo_sort).reshape(n, self.n_hashes, length, cy)
        bucket_score = bucket_score.reshape(n, -1).gather(1, undo_sort).reshape(n, self.n_hashes, length, 1)
        probs = F.softmax(bucket_score, dim=1)
        ret = (ret * probs).sum(dim=1).permute(0, 2, 1).reshape(n, -1, h, w)
        return ret * self.res_scale + inp


class NLSN(MeanShiftedResidualNet):
    def __init__(
        self, scale: int, n_resblocks: int = 32, n_feats: int = 256, res_scale: float = 0.1, chunk_size: int = 144,
        n_hashes: int = 4, reduction: int = 4, attention_every: int = 8,
    ) -> None:
        def attention(i: int) -> NonLocalSparseAttention:
            return NonLocalSparseAttention(n_feats, chunk_size, n_hashes, reduction, res_scale, rotation_seed=i)

        def body() -> list[nn.Module]:
            blocks: list[nn.Module] = [attention(0)]
            for i in range(n_resblocks):
                blocks.append(ResBlock(n_feats, res_scale))
                if (i + 1) % attention_every == 0:
                    blocks.append(attention(i + 1))
            return blocks

        super().__init__(scale, n_feats, body)


@register_arch(
    "NLSN",
    presets={
        "paper": {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1, "chunk_size": 144, "n_hashes": 4,
                  "reduction": 4, "attention_every": 8},
        "tiny": {"n_resblocks": 8, "n_feats": 32, "res_scale": 1.0, "chunk_size": 64, "n_hashes": 2,
                 "reduction": 4, "attention_every": 4},
    },
    reference="Mei et al., Image Super-Resolution with Non-Local Sparse Attention, CVPR 2021",
    tags=("sparse-attention", "non-local", "residual", "pixelshuffle"),
)
def nlsn(scale: int, **cfg: object) -> nn.Module:
    return NLSN(scale, **cfg)  # type: ignore[arg-type]
