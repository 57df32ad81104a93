"""The classifier's input representation (log-DCT) and the crop / JPEG-augmentation rules of the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srprint.classify.data import CropDataset, crop_array
from srprint.classify.inputs import ClassifierNet, create_classifier_net, dct_matrix
from srprint.errors import ImageError, SrprintError
from srprint.io.images import write_png


def test_dct_matrix_is_orthonormal_and_is_the_dct() -> None:
    d = dct_matrix(16)
    assert torch.allclose(d @ d.T, torch.eye(16), atol=1e-5)
    # a constant block has all its energy in the DC coefficient
    spec = d @ torch.ones(16, 16) @ d.T
    assert spec[0, 0].item() == pytest.approx(16.0, rel=1e-5)
    assert spec.abs().sum().item() == pytest.approx(16.0, rel=1e-4)


def test_fitted_spectrum_statistics_standardise_the_training_crops() -> None:
    net = create_classifier_net("test_convnext", 3, "dct", crop=32)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.rand(8, 3, 32, 32, generator=gen) * 2 - 1 for _ in range(4)]
    net.fit_input_stats(batches)
    z = net.represent(torch.cat(batches))
    assert z.mean(0).abs().max().item() < 1e-3
    assert z.std(0).mean().item() == pytest.approx(1.0, abs=0.05)
    assert {"in_mean", "in_std"} <= set(net.state_dict())  # saved with the weights
    assert net(torch.cat(batches)).shape == (32, 3)


def test_rgb_input_is_the_identity_and_unknown_inputs_are_refused() -> None:
    net = create_classifier_net("test_convnext", 2, "rgb", crop=32)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(net.represent(x), x)
    with pytest.raises(SrprintError, match="unknown classifier input"):
        ClassifierNet(net.body, "wavelet", 32)
    with pytest.raises(SrprintError, match="expects 32x32"):
        create_classifier_net("test_convnext", 2, "dct", crop=32).spectrum(torch.rand(1, 3, 16, 16))


def test_aligned_crops_start_on_the_grid() -> None:
    img = np.random.default_rng(0).random((77, 91, 3))
    rng = np.random.default_rng(1)
    corners = set()
    for _ in range(20):
        out = crop_array(img, 32, rng, align=8)
        (top, left), = np.argwhere(img[:, :, 0] == out[0, 0, 0])  # random values: one match
        assert out.shape == (32, 32, 3) and top % 8 == 0 and left % 8 == 0
        assert np.array_equal(out, img[top : top + 32, left : left + 32])
        corners.add((int(top), int(left)))
    assert len(corners) > 3  # still random, just on the grid
    centre = crop_array(img, 32, None, align=8)
    assert np.array_equal(centre, img[16:48, 24:56])  # (77-32)//2=22 -> 16, (91-32)//2=29 -> 24


def test_jpeg_augmentation_is_seeded_and_only_in_training(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(3):
        write_png(tmp_path / f"{i}.png", rng.random((48, 48, 3)))
    paths = [f"{i}.png" for i in range(3)]
    # crop = image size: the only difference left is the recompression
    plain = CropDataset(tmp_path, paths, [0, 1, 2], 48, True, seed=5)
    always = CropDataset(tmp_path, paths, [0, 1, 2], 48, True, seed=5, jpeg_augment=1.0)
    again = CropDataset(tmp_path, paths, [0, 1, 2], 48, True, seed=5, jpeg_augment=1.0)
    for i in range(3):
        a, b, c = plain[i][0], always[i][0], again[i][0]
        assert a.shape == b.shape == (48, 48, 3)
        assert not np.array_equal(a, b)  # recompressed
        assert np.array_equal(b, c)  # same (seed, epoch, index) -> same quality and crop
    evaluation = CropDataset(tmp_path, paths, [0, 1, 2], 48, False, jpeg_augment=1.0)
    assert np.array_equal(evaluation[0][0], plain.load(0))  # never in evaluation


def test_decoded_image_cache_stops_at_its_byte_budget(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for i in range(4):
        write_png(tmp_path / f"{i}.png", rng.random((16, 16, 3)))
    paths = [f"{i}.png" for i in range(4)]
    one = 16 * 16 * 3  # bytes of one decoded uint8 image
    ds = CropDataset(tmp_path, paths, [0] * 4, 16, False, cache=True, cache_bytes=2 * one + 1)
    first = [ds.load(i) for i in range(4)]
    assert ds._cache is not None and sorted(ds._cache) == [0, 1]  # the budget holds two images
    for i in range(4):
        (tmp_path / f"{i}.png").unlink()  # cached images no longer need their files
    assert all(np.array_equal(ds.load(i), first[i]) for i in (0, 1))
    with pytest.raises(ImageError):
        ds.load(2)  # beyond the budget: read again from disk
    assert CropDataset(tmp_path, paths, [0] * 4, 16, False)._cache is None  # off unless asked


def test_log_floor_is_configurable_and_old_runs_keep_theirs() -> None:
    from srprint.classify.run_folder import ClassifierConfig, config_from_run

    x = torch.zeros(1, 3, 16, 16)  # every coefficient 0: the spectrum is log(eps) everywhere
    for eps in (1e-3, 1e-2):
        net = create_classifier_net("test_convnext", 2, "dct", crop=16, eps=eps)
        assert torch.allclose(net.spectrum(x), torch.full_like(x, float(np.log(eps))))
    with pytest.raises(SrprintError, match="floor must be > 0"):
        create_classifier_net("test_convnext", 2, "dct", crop=16, eps=0.0)
    assert ClassifierConfig().dct_eps == 1e-2
    # a config.yaml written before the field existed was trained with the old floor
    assert config_from_run({"classifier": {"crop": 16}}).dct_eps == 1e-3
    assert config_from_run({"classifier": {"crop": 16, "dct_eps": 0.05}}).dct_eps == 0.05


def test_jpeg_recipe_is_checked_by_the_config_itself() -> None:
    from srprint.classify.run_folder import ClassifierConfig, config_from_run

    with pytest.raises(SrprintError, match="between 0 and 1"):
        ClassifierConfig(jpeg_augment=1.5)
    with pytest.raises(SrprintError, match="1 to 100"):
        ClassifierConfig(jpeg_quality_min=0)
    with pytest.raises(SrprintError, match="between 0 and 1"):  # a hand-edited config.yaml too
        config_from_run({"classifier": {"jpeg_augment": -0.1}})
    assert ClassifierConfig(jpeg_augment=0.0, jpeg_quality_min=100).jpeg_augment == 0.0
