"""Training losses, a registry: ``L1``, ``VGG+Adv`` and ``ResNet+Adv``.

``VGG+Adv`` follows SRGAN/ESRGAN: ``w_pix * L1 + w_feat * L1(VGG19 features) + w_adv * GAN``.
``ResNet+Adv`` keeps the adversarial term and replaces the perceptual term by the L2 distance
between ResNet18 ``layer3`` activations. No ImageNet weights can be downloaded here, so the feature
networks are built with ``weights=None`` and a fixed seed (a fixed random-feature loss) unless a
safetensors file of real weights is passed; the choice is recorded in every model's record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, SpecError
from ..io.checkpoints import load_weights, sha256_file

FEATURE_SEED = 1234
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision vgg19.features index just before the ReLU of each named conv
VGG_LAYERS = {"conv2_2": 8, "conv3_4": 17, "conv4_4": 26, "conv5_4": 35}


def _seeded(builder: Callable[[], nn.Module]) -> nn.Module:
    devices: list[int] = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(FEATURE_SEED)
        return builder()


def _load_feature_weights(net: nn.Module, path: str | None, prefix: str = "") -> str:
    if not path:
        return f"random(seed={FEATURE_SEED})"
    state = load_weights(path)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, _ = net.load_state_dict(state, strict=False)
    if missing:
        raise CheckpointError(f"{path}: perceptual weights miss {len(missing)} tensors (e.g. {missing[0]})")
    return f"file:{Path(path).name}:sha256={sha256_file(path)[:16]}"


class FeatureNet(nn.Module):
    """Frozen feature extractor (VGG19 up to a conv layer, or ResNet18 up to ``layer3``)."""

    def __init__(self, kind: str, layer: str = "conv5_4", weights: str | None = None) -> None:
        super().__init__()
        import torchvision

        self.kind = kind
        if kind == "vgg":
            full = _seeded(lambda: torchvision.models.vgg19(weights=None))
            self.provenance = _load_feature_weights(full, weights)
            self.body: nn.Module = full.features[: VGG_LAYERS[layer]]
        elif kind == "resnet":
            r = _seeded(lambda: torchvision.models.resnet18(weights=None))
            self.provenance = _load_feature_weights(r, weights)
            self.body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3)
        else:
            raise SpecError(f"unknown feature network {kind!r}")
        self.body.eval()
        for p in self.body.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> FeatureNet:  # always frozen (BN in eval mode)
        super().train(False)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - self.mean) / self.std)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (pix2pix-style): strided convs, one logit per patch; any input size."""

    def __init__(self, base: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, base, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = base
        for i in range(1, n_layers):
            nxt = base * min(2**i, 8)
            layers += [nn.Conv2d(ch, nxt, 4, 2, 1, bias=False), nn.BatchNorm2d(nxt), nn.LeakyReLU(0.2, inplace=True)]
            ch = nxt
        layers += [nn.Conv2d(ch, 1, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class LossConfig:
    """Weights and sizes of the composite losses (ESRGAN defaults)."""

    pixel_weight: float = 1e-2
    feature_weight: float = 1.0
    adv_weight: float = 5e-3
    vgg_layer: str = "conv5_4"
    disc_base: int = 64
    disc_lr: float = 1e-4
    perceptual_weights: str | None = None


class SRLoss(nn.Module):
    """Generator loss; adversarial losses also own a discriminator and its update step."""

    adversarial = False
    provenance = "none"

    def generator_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError


class L1Loss(SRLoss):
    def generator_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        loss = F.l1_loss(sr, hr)
        return loss, {"l1": loss.item()}


class PerceptualAdversarialLoss(SRLoss):
    adversarial = True

    def __init__(self, feature: str, cfg: LossConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.feature_kind = feature
        self.features = FeatureNet(feature, cfg.vgg_layer, cfg.perceptual_weights)
        self.provenance = self.features.provenance
        self.disc = PatchDiscriminator(cfg.disc_base)
        self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.disc_lr, betas=(0.9, 0.99))

    def generator_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        pix = F.l1_loss(sr, hr)
        f_sr, f_hr = self.features(sr), self.features(hr).detach()
        feat = F.l1_loss(f_sr, f_hr) if self.feature_kind == "vgg" else F.mse_loss(f_sr, f_hr)
        for p in self.disc.parameters():
            p.requires_grad_(False)
        logits = self.disc(sr)
        for p in self.disc.parameters():
            p.requires_grad_(True)
        adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        total = self.cfg.pixel_weight * pix + self.cfg.feature_weight * feat + self.cfg.adv_weight * adv
        return total, {"pix": pix.item(), "feat": feat.item(), "adv": adv.item()}

    def discriminator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> float:
        real, fake = self.disc(hr), self.disc(sr.detach())
        loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake)
        )
        self.disc_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.disc_opt.step()
        return loss.item()

    def extra_state(self) -> dict[str, Any]:
        return {"disc": self.disc.state_dict(), "disc_opt": self.disc_opt.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.disc.load_state_dict(state["disc"])
        self.disc_opt.load_state_dict(state["disc_opt"])


_LOSSES: dict[str, Callable[[LossConfig], SRLoss]] = {
    "L1": lambda cfg: L1Loss(),
    "VGG+Adv": lambda cfg: PerceptualAdversarialLoss("vgg", cfg),
    "ResNet+Adv": lambda cfg: PerceptualAdversarialLoss("resnet", cfg),
}

# loss name -> coarse family (used by parsing's hierarchical loss heads)
LOSS_FAMILY = {"L1": "pixel", "VGG+Adv": "adversarial", "ResNet+Adv": "adversarial"}


def create_loss(name: str, cfg: LossConfig | None = None) -> SRLoss:
    if name not in _LOSSES:
        raise SpecError(f"unknown loss {name!r}; known: {', '.join(_LOSSES)}")
    return _LOSSES[name](cfg or LossConfig())
