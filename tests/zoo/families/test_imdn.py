"""IMDN family: IMDN, IMDN_RTC, IMDN_RTE and IMDN_AS on their official checkpoints."""

from __future__ import annotations

from .port_checks import imported_port_test

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("imdn_official/IMDN_x4.pth", "IMDN", 4, 1.0),
    ("imdn_official/model_RTC.pth", "IMDN_RTC", 2, 1.0),
    ("imdn_official/model_RTE.pth", "IMDN_RTE", 2, 0.5),
    # RealSR-trained (LR given at HR size): on bicubic-downscaled photos it is about bicubic quality
    ("imdn_official/IMDN_AS.pth", "IMDN_AS", 4, -1.0),
]

test_published_checkpoint_imports_beats_bicubic_and_round_trips = imported_port_test(CHECKPOINTS)
