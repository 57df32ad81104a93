"""CARN-M on its official checkpoint."""

from __future__ import annotations

from .port_checks import imported_port_test

# (file under pretrained/, arch, scale, minimum PSNR gain over bicubic on the crop in dB)
CHECKPOINTS = [
    ("carn-m_official/carn_m.pth", "CARN-M", 4, 1.0),
]

test_published_checkpoint_imports_beats_bicubic_and_round_trips = imported_port_test(CHECKPOINTS)
