"""SRResNet-style GAN generators: SRGAN (leftthomas) and Fast-SRGAN (PyTorch release)."""

from __future__ import annotations

from .port_checks import imported_port_test

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("srgan_leftthomas/netG_epoch_4_100.pth", "SRGAN-SRResNet", 4, 0.3),
    ("fast-srgan_pytorch/model.pt", "Fast-SRGAN-SRResNet", 4, 0.1),
]

test_published_checkpoint_imports_beats_bicubic_and_round_trips = imported_port_test(CHECKPOINTS)
