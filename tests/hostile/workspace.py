"""The hostile inputs: files a careless user or an adversary hands srprint, built once per session.

Every file lives in one workspace folder that no case may change (each case writes into its own
output folder); ``tree_digest`` is compared before and after every case.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MARKER = "PWNED"


class Exploit:
    """Unpickling this creates ``marker``: proof that a payload ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.marker, "w"))


def tree_digest(root: Path) -> str:
    """Hash of every path, mode and content below ``root`` (symlinks by target, not followed)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            h.update(os.fsencode(p.relative_to(root)))
            if p.is_symlink():
                h.update(os.fsencode(os.readlink(p)))
            elif p.is_file():
                h.update(p.read_bytes())
    return h.hexdigest()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_header(path: Path, width: int, height: int, depth: int = 8, pixels: np.ndarray | None = None) -> None:
    """A PNG whose IHDR says ``width x height`` (a bomb when the data is tiny), or 16-bit RGB ``pixels``."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    raw = b"\0" * 64 if pixels is None else b"".join(b"\0" + row.tobytes() for row in pixels)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(raw))
                     + _png_chunk(b"IEND", b""))


@dataclass
class Workspace:
    root: Path
    zoo: Path
    model: Path  # a complete tiny EDSR x2 entry
    sibling: Path  # another seed of it
    denoiser: Path
    images: Path  # a clean folder of photos
    good: Path
    fingerprint: Path
    run: Path  # a trained attribution run
    render: Path  # its rendered dataset
    prnu: Path  # a fitted PRNU run
    marker: Path

    def p(self, rel: str) -> Path:
        return self.root / rel


def _entry(root: Path, name: str, seed: int) -> Path:
    from srprint.io.checkpoints import save_weights
    from srprint.zoo.archs import create_arch
    from srprint.zoo.entry import ZooEntry

    config = {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0}
    torch.manual_seed(seed)
    net = create_arch("EDSR", 2, config=config)
    folder = root / name
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", net.state_dict())
    ZooEntry(id=name, source="trained", arch="EDSR", scale=2, task="sr", arch_config=dict(config),
             labels={"arch": "EDSR", "seed": seed}).save(folder)
    return folder


def _denoiser(root: Path, name: str) -> Path:
    from srprint.io.checkpoints import save_weights
    from srprint.zoo.archs import create_arch
    from srprint.zoo.entry import ZooEntry

    config = {"depth": 3, "channels": 1, "features": 8}
    torch.manual_seed(0)
    net = create_arch("DnCNN-BN", 1, config=config)
    folder = root / name
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", net.state_dict())
    ZooEntry(id=name, source="imported", arch="DnCNN-BN", scale=1, task="denoise", arch_config=config, grey=True,
             residual=True, labels={"arch": "DnCNN"}).save(folder)
    return folder


def _images(root: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    (root / "img").mkdir()
    Image.fromarray(rgb).save(root / "img" / "good.png")
    Image.fromarray(rgb[..., 0]).save(root / "img" / "grey.png")
    Image.fromarray(np.dstack([rgb, np.full((32, 32), 128, np.uint8)])).save(root / "img" / "rgba.png")
    Image.fromarray(rgb).convert("P").save(root / "img" / "palette.png")
    Image.fromarray(rgb[:1, :1]).save(root / "img" / "one.png")
    png_with_header(root / "img" / "deep16.png", 16, 16, depth=16,
                    pixels=(rng.random((16, 16, 3)) * 65535).astype(">u2"))
    bad = root / "bad"
    bad.mkdir()
    png_with_header(bad / "bomb.png", 60000, 60000)
    (bad / "zero.png").write_bytes(b"")
    (bad / "text.png").write_text("not a png")
    good_bytes = (root / "img" / "good.png").read_bytes()
    (bad / "truncated.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    Image.new("RGB", (10000, 10000)).save(bad / "huge.png")
    (bad / "loop.png").symlink_to(bad / "loop.png")
    (bad / "broken.png").symlink_to(bad / "missing.png")
    # folders mixing one good photo with one bad file each
    for name in ("bomb", "truncated", "text"):
        d = root / f"mixed_{name}"
        d.mkdir()
        (d / "good.png").write_bytes(good_bytes)
        (d / f"{name}.png").write_bytes((bad / f"{name}.png").read_bytes())
    d = root / "mixed_name"
    d.mkdir()
    (d / "good.png").write_bytes(good_bytes)
    with open(os.fsencode(d) + b"/bad\xff\xfe.png", "wb") as fh:
        fh.write(good_bytes)
    only_bad = root / "only_bad"
    only_bad.mkdir()
    (only_bad / "text.png").write_text("not a png")
    (only_bad / "zero.png").write_bytes(b"")


def _checkpoints(root: Path, marker: Path) -> None:
    from safetensors.torch import save_file

    ck = root / "ckpt"
    ck.mkdir()
    save_file({"w": torch.zeros(4, 4)}, str(ck / "ok.safetensors"))
    data = (ck / "ok.safetensors").read_bytes()
    (ck / "truncated.safetensors").write_bytes(data[: len(data) - 20])
    (ck / "lying.safetensors").write_bytes(struct.pack("<Q", 10**12) + data[8:])
    header = json.dumps({"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 64]}}).encode()
    (ck / "lying_shape.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    payload = {"state_dict": {"w": torch.zeros(2)}, "x": Exploit(marker)}
    (ck / "legacy.pth").write_bytes(pickle.dumps(payload, protocol=2))
    torch.save(payload, ck / "zip.pth")
    (ck / "raw.pt").write_bytes(pickle.dumps(Exploit(marker), protocol=2))
    torch.save({"mystery.weight": torch.zeros(3, 3, 3, 3), "mystery.bias": torch.zeros(3)}, ck / "unknown.pth")
    import srprint.zoo.imports  # noqa: F401  (registers the ports)
    from srprint.zoo.archs import create_arch

    torch.manual_seed(0)
    rtc = create_arch("IMDN_RTC", 2, config={"nf": 12, "num_modules": 2})
    torch.save({f"module.{k}": v for k, v in rtc.state_dict().items()}, ck / "rtc.pth")  # an importable file
    (ck / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(200))
    (ck / "garbage.mat").write_bytes(b"MATLAB 5.0 MAT-file" + os.urandom(200))
    (ck / "garbage.pb").write_bytes(os.urandom(300))
    (ck / "empty.pth").write_bytes(b"")
    man = root / "manifests"
    man.mkdir()
    (man / "latin1.csv").write_bytes("id,file\ncaf\xe9,../ckpt/unknown.pth\n".encode("latin-1"))
    (man / "all_bad.csv").write_text("id,file\nu1,../ckpt/unknown.pth\nu2,../ckpt/garbage.pb\n")
    (man / "no_columns.csv").write_text("name,path\nx,y\n")


def _tampered_entries(root: Path, model: Path) -> None:
    import shutil

    bad = root / "bad_entries"
    bad.mkdir()
    cases = {
        "huge_config": lambda r: {**r, "arch_config": {**r["arch_config"], "n_feats": 10**9}},
        "unknown_config": lambda r: {**r, "arch_config": {**r["arch_config"], "no_such_option": 3}},
        "bad_scale": lambda r: {**r, "scale": 7000},
        "unknown_arch": lambda r: {**r, "arch": "NoSuchNet"},
    }
    record = json.loads((model / "model.json").read_text())
    for name, change in cases.items():
        d = bad / name
        shutil.copytree(model, d)
        (d / "model.json").write_text(json.dumps(change(dict(record))))
    d = bad / "corrupt_json"
    shutil.copytree(model, d)
    (d / "model.json").write_text('{"id": "x", ')
    d = bad / "wrong_weights"
    shutil.copytree(model, d)
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(d / "model.safetensors"))
    # a zoo holding one good entry and one corrupt record
    mixed = root / "zoo_with_corrupt"
    mixed.mkdir()
    shutil.copytree(model, mixed / model.name)
    shutil.copytree(bad / "corrupt_json", mixed / "corrupt")
    # weights at 3 levels of the zoo: the corrupt record must be named by zoo list


def build_workspace(root: Path, run: Path, render: Path) -> Workspace:
    """Create every hostile input under ``root`` (``run``/``render``: a trained classifier and its data)."""
    import shutil

    from srprint.verification.fingerprint import FingerprintSettings, fingerprint_model
    from srprint.zoo.entry import ZooEntry

    torch.set_num_threads(1)
    root.mkdir(parents=True, exist_ok=True)
    marker = root.parent / f"{root.name}-{MARKER}"
    zoo = root / "zoo"
    model = _entry(zoo, "EDSR-skimage-x2-L1-s1", 1)
    sibling = _entry(zoo, "EDSR-skimage-x2-L1-s2", 2)
    den = _denoiser(zoo, "tiny-denoiser")
    _images(root)
    _checkpoints(root, marker)
    _tampered_entries(root, model)
    settings = FingerprintSettings(task="sr", size=16, iters=3)
    fp = fingerprint_model(ZooEntry.load(model), settings, "cpu")
    fp_path = fp.save(root / "fp" / "model.json")
    other = fingerprint_model(ZooEntry.load(sibling), FingerprintSettings(task="sr", size=24, iters=3), "cpu")
    other.save(root / "fp" / "other_settings.json")
    (root / "fp" / "truncated.json").write_text(fp_path.read_text()[:40])
    (root / "fp" / "foreign.json").write_text(json.dumps({"format": "something-else"}))
    # runs: a copy of the trained one, a half-written one, and a tampered PRNU run
    shutil.copytree(run, root / "run")
    half = root / "half_run"
    shutil.copytree(run, half)
    for name in ("model.safetensors", "metrics.json", "state.pt", "classes.json"):
        (half / name).unlink(missing_ok=True)
    shutil.copytree(render, root / "render")
    from srprint.attribution.predict import predict_images

    # the run's open-set calibration is a cache written on first use: make it now, so cases see a settled run
    predict_images(root / "run", root / "img" / "good.png", device="cpu", tiles=1)
    from srprint.attribution.prnu import PRNUConfig, fit_prnu

    fit_prnu(root / "render", root / "prnu", PRNUConfig(crop=32, max_per_class=4))
    tampered = root / "prnu_tampered"
    shutil.copytree(root / "prnu", tampered)
    np.save(tampered / "fingerprints.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    truncated = root / "prnu_truncated"
    shutil.copytree(root / "prnu", truncated)
    data = (truncated / "fingerprints.npy").read_bytes()
    (truncated / "fingerprints.npy").write_bytes(data[: len(data) // 2])
    build_round_two(root, model, sibling, den, marker)
    return Workspace(root=root, zoo=zoo, model=model, sibling=sibling, denoiser=den, images=root / "img",
                     good=root / "img" / "good.png", fingerprint=fp_path, run=root / "run", render=root / "render",
                     prnu=root / "prnu", marker=marker)


def _record_variant(src: Path, dest: Path, change: dict | None = None) -> Path:
    import shutil

    shutil.copytree(src, dest)
    if change is not None:
        record = json.loads((dest / "model.json").read_text())
        record.update(change)
        (dest / "model.json").write_text(json.dumps(record))
    return dest


def _corrupt_avif(path: Path, rgb: np.ndarray) -> None:
    """A real AVIF whose coded data is zeroed: Pillow's AVIF decoder raises RuntimeError on it."""
    import io

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="AVIF")
    data = bytearray(buf.getvalue())
    at = data.find(b"mdat")
    data[at + 4:] = bytes(len(data) - at - 4)
    path.write_bytes(bytes(data))


def build_round_two(root: Path, model: Path, sibling: Path, den: Path, marker: Path) -> None:
    """The second hostile round (issue 29): lying records, zoos and corpora that try to steer a write,
    non-finite pixels, corrupt AVIF, special files, a tampered training checkpoint."""
    rng = np.random.default_rng(1)
    rgb = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    good_bytes = (root / "img" / "good.png").read_bytes()
    # --- pixels
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        arr = rng.random((16, 16)).astype(np.float32)
        arr[3, 3] = value
        Image.fromarray(arr, mode="F").save(root / "bad" / f"{name}.tif")
    _corrupt_avif(root / "bad" / "corrupt.avif", rgb)
    for name, file in (("avif", "corrupt.avif"), ("nan", "nan.tif")):
        d = root / f"mixed_{name}"
        d.mkdir()
        (d / "good.png").write_bytes(good_bytes)
        (d / file).write_bytes((root / "bad" / file).read_bytes())
    # --- special files: a named pipe reads forever
    special = root / "special"
    special.mkdir()
    os.mkfifo(special / "fifo.png")
    os.mkfifo(special / "fifo.pth")
    # --- records whose fields lie
    bad = root / "bad_entries"
    variants = {
        "input_range_text": {"input_range": "0-1"}, "input_range_one": {"input_range": [1]},
        "input_range_empty": {"input_range": [0, 0]}, "input_range_reversed": {"input_range": [1, 0]},
        "input_range_huge": {"input_range": [0, 1e30]}, "grey_string": {"grey": "yes"},
        "residual_number": {"residual": 1}, "id_dotdot": {"id": "../escaped"},
        "id_absolute": {"id": str(root / "victim")}, "id_slash": {"id": "a/b"}, "id_hidden": {"id": ".hidden"},
        "id_number": {"id": 12}, "id_too_long": {"id": "x" * 300}, "task_number": {"task": 2},
        "labels_list": {"labels": ["arch", "EDSR"]},
    }
    for name, change in variants.items():
        _record_variant(model, bad / name, change)
    _record_variant(den, bad / "denoiser_x2", {"scale": 2})
    # --- the user's own photos, which an absolute id once overwrote
    victim = root / "victim"
    victim.mkdir()
    (victim / "im0.png").write_bytes(good_bytes)
    (victim / "labels.json").write_text('{"mine": true}\n')
    # --- zoos that try to steer a render
    for zoo, change in (("zoo_escape", {"id": "../escaped"}), ("zoo_absolute", {"id": str(victim)}),
                        ("zoo_duplicate", {"id": model.name}), ("zoo_real_class", {"id": "HR"})):
        _record_variant(model, root / zoo / model.name)
        _record_variant(sibling, root / zoo / "other", change)
    _record_variant(model, root / "zoo_empty_weights" / model.name)
    (root / "zoo_empty_weights" / model.name / "model.safetensors").write_bytes(b"")
    # --- corpora whose image ids try to steer a render
    plain = root / "corpus_plain"
    plain.mkdir()
    Image.fromarray(rgb).save(plain / "a.png")
    Image.fromarray(rgb[::-1]).save(plain / "b.png")
    for name, image_id in (("corpus_escape", "../../escaped"), ("corpus_absolute", str(victim / "im0"))):
        d = root / name
        d.mkdir()
        (d / "a.png").write_bytes((plain / "a.png").read_bytes())
        (d / "corpus.json").write_text(json.dumps({"name": name, "config": {}, "images": [
            {"image_id": image_id, "file": "a.png", "width": 32, "height": 32, "source": "a.png", "set": name}]}))
    # --- manifests whose ids are paths
    for name, ident in (("id_dotdot", "../escaped"), ("id_absolute", str(victim / "x"))):
        (root / "manifests" / f"{name}.csv").write_text(f"id,file\n{ident},../ckpt/rtc.pth\n")
    # --- a training checkpoint that carries a pickle payload
    state = root / "train_state_tampered" / model.name
    state.mkdir(parents=True)
    torch.save({"spec_id": model.name, "x": Exploit(marker)}, state / "train_state.pt")
