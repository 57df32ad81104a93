"""One declaration of the engine's options: the bench scripts' argparse options come from the typer ones."""

from __future__ import annotations

import argparse

import pytest

from srprint.classify.options import ARGPARSE_OPTIONS, add_classifier_arguments


def test_argparse_options_have_the_typer_flags_defaults_and_ranges() -> None:
    ap = argparse.ArgumentParser()
    add_classifier_arguments(ap, crop=96)
    args = vars(ap.parse_args([]))
    assert args["crop"] == 96 and args["backbone"] == ARGPARSE_OPTIONS["backbone"][1].default
    assert args["input"] == "dct" and args["max_per_class"] is None and args["jpeg_augment"] is None
    assert ap.parse_args(["--lr", "1e-3", "--max-per-class", "7"]).max_per_class == 7
    with pytest.raises(SystemExit):  # --crop has min=8, as on the command line
        ap.parse_args(["--crop", "2"])


def test_bench_defaults_are_unchanged() -> None:
    """attribution_mini.py's parser had these defaults written out before they were generated."""
    ap = argparse.ArgumentParser()
    add_classifier_arguments(ap, names=("backbone", "input_kind", "jpeg_augment", "jpeg_quality_min", "patience",
                                        "crop", "head_epochs", "epochs", "batch_size", "lr", "max_per_class"),
                             patience=None)
    assert vars(ap.parse_args([])) == {
        "backbone": "convnext_atto", "input": "dct", "jpeg_augment": None, "jpeg_quality_min": None,
        "patience": None, "crop": 128, "head_epochs": 3, "epochs": 15, "batch_size": 16, "lr": 5e-4,
        "max_per_class": None}
