"""JPEG method 8: the rival rule's null has every calibration photo crop made by every rival (not one in turn)."""

from dataclasses import replace

import numpy as np

from srprint.attribution import jpeg_decide
from srprint.attribution.jpeg_file import read_jpeg
from srprint.verification.fingerprint import load_entry_model

from .test_jpeg_trace import FAST, _jpeg, spy_on_inversions, zoo  # noqa: F401 - zoo is a fixture
from .test_trace import _made_by


def test_every_rival_makes_every_calibration_photo(zoo, monkeypatch):  # noqa: F811
    settings = replace(FAST, n_jpeg_calibration=3)
    info = read_jpeg(_jpeg(_made_by(zoo[0], size=64), quality=75))
    made: list[tuple[str, bytes]] = []
    real = jpeg_decide._own_output

    def spy(entry, model, photo):
        made.append((entry.id, np.asarray(photo).tobytes()))
        return real(entry, model, photo)

    monkeypatch.setattr(jpeg_decide, "_own_output", spy)
    crops = spy_on_inversions(monkeypatch)
    models = {e.id: load_entry_model(e) for e in zoo}
    rivals = [(e, models[e.id]) for e in zoo[1:]]
    vals = jpeg_decide.jpeg_calibration(zoo[0], models[zoo[0].id], info, 48, settings, rivals=rivals)
    photos = {p for _, p in made}
    # 3 photo crops, each made by both rivals (method 7: photo k by rival k % 2 only, 3 values)
    assert len(photos) == 3 and sorted(made) == sorted((e.id, p) for p in photos for e in zoo[1:])
    assert len(vals) == 6 and len(crops) == 12  # per image: the bicubic reference's search and the candidate's
    # cached under its own key: read back without a search
    assert jpeg_decide.jpeg_calibration(zoo[0], models[zoo[0].id], info, 48, settings, rivals=rivals) == vals
    assert len(crops) == 12
    # the photo null is unchanged: one value per photo crop, none made by a model
    n = len(made)
    assert len(jpeg_decide.jpeg_calibration(zoo[0], models[zoo[0].id], info, 48, settings)) == 3
    assert len(made) == n
