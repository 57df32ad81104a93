"""Trace a JPEG: invert a candidate through the file's own quantisation cells, then re-encode exactly.

A JPEG stores, for every 8x8 block of every component, integers ``q = round(D / Q)``: the DCT ``D``
of the (level-shifted, possibly chroma-subsampled) YCbCr block divided by the file's quantisation
table ``Q``. If candidate ``C`` made the image, some input ``x`` makes ``C``'s 8-bit output land in the
very cells ``[q - 1/2, q + 1/2] * Q`` the file records, coefficient for coefficient; another model's
output, however close in pixels, leaves many coefficients in a neighbouring cell.

* **Search** (:func:`jpeg_invert`): start from plain inversion of the decoded pixels
  (:func:`~.inversion.invert_model`), then Adam (step size decayed along a cosine) on ``x`` against a
  squared hinge on the cell bounds,
  computed by a differentiable copy of the encoder (JFIF colour transform, 2x2 box chroma subsampling,
  orthonormal 8x8 DCT; the 8-bit rounding of the output passed straight through).
* **Decision statistic** (:func:`requantisation_test`): the candidate's 8-bit output is encoded by the
  same encoder as the file (Pillow, ``qtables=`` the file's tables, ``subsampling=`` the file's), its
  coefficients read back (:func:`~.jpeg_file.read_jpeg`) and compared with the file's cell by cell, on
  the blocks at least ``border`` output pixels inside the crop. The violation rate (share of
  coefficients in another cell) is 0 for an image made by ``C`` and re-encoded by the same encoder
  (given the input ``C`` saw), and the statistic is the rate the search reaches.

The crop is aligned to both grids: its offset and side are multiples of ``lcm(MCU, scale)``, measured
from the file's origin (the model's output and the JPEG's block grid both start there).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import SrprintError
from .inversion import descend, invert_model
from .jpeg_file import JpegColourError, JpegInfo, JpegUnsupportedError

JPEG_CROP = 64  # output pixels of the inverted crop (rounded up to a multiple of lcm(MCU, scale))
# the window of a x2 candidate (JPEG method 7; the image's side when smaller). In a 64-px window (2816 coefficients
# inside the border) at q 75 a published x2 model lands in another x2 model's cells (ESPCN on FSRCNN's JPEG and
# back: 0-7 outside, the maker 0), so the rival rule cannot tell them apart. Measured on a dev corpus that no
# calibration or scored set uses (the last 3 Kodak24 photos, bench/results/trace_window_dev.md), maker against
# rival, log((rival + 1/2) / (maker + 1/2)) at its smallest over q 75, q 90 then q 75, and q 90: 0.00 at 64 px, 3.76
# at 96 (8448 coefficients), 3.39 at 128 (17152; in 150 steps the maker's search no longer reaches 0 there: 10-32
# outside at q 90). 96 px: the best worst case, at about 2x the seconds of a 64-px search (128: 3x)
JPEG_CROP_X2 = 96
JPEG_BORDER = 8  # output pixels at the crop's edge whose blocks are not compared
# input pixels searched around the crop (the output over the crop depends on them). Measured on a q 90 JPEG of
# each demo model's output (64-px window, 8-px border): the true input of the window alone leaves 35 (EDSR x2)
# to 226 (RDN x4) of 2816 coefficients outside the cells, with 8 pixels of context 0 (RCAN's global pooling:
# 1). But the search, which moves the window's input freely, reached about as few without them (EDSR x4 on
# its output: 29 against 24; EDSR x2 s1 on its output 0 and 0, its sibling s2 11 and 10) at 2-4x the cost per
# step, so the default is none (issue 27, session 4)
JPEG_CONTEXT = 0
HINGE_STEPS = 150
HINGE_LR = 4e-3  # the hinge's first step size; it decays to 0 along a cosine over ``steps``
HINGE_MARGIN = 0.1  # aim this far (in quantisation steps) inside a cell: the real encoder rounds in integers
START_STEPS = 60
_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def _dct_matrix() -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.float()


_DCT = _dct_matrix()


def _round_through(t: torch.Tensor) -> torch.Tensor:
    """Rounded in the forward pass, the identity in the backward pass (straight-through)."""
    return t + (torch.round(t) - t).detach()


def _blocks(plane: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` -> ``(N, H/8, W/8, 8, 8)``."""
    n, h, w = plane.shape
    return plane.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)


def forward_dct(rgb: torch.Tensor, sampling: list[tuple[int, int]]) -> list[torch.Tensor]:
    """The unquantised DCT coefficients a JPEG encoder computes for ``rgb`` (differentiable).

    Parameters
    ----------
    rgb : Tensor
        ``(N, 3, H, W)`` in ``[0, 1]``; ``H`` and ``W`` multiples of the MCU.
    sampling : list of (int, int)
        The file's ``(h, v)`` sampling factors (Y first; one entry: grey).

    Returns
    -------
    list of Tensor
        Per component, ``(N, blocks_y, blocks_x, 8, 8)`` coefficients (natural order, level-shifted).
    """
    x = rgb * 255.0
    m = _YCC.to(device=x.device, dtype=x.dtype)
    if len(sampling) == 1:
        planes = [(x * m[0].view(1, 3, 1, 1)).sum(1)]
    else:
        ycc = torch.einsum("ij,njhw->nihw", m, x)
        planes = [ycc[:, 0], ycc[:, 1] + 128, ycc[:, 2] + 128]
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    out = []
    d = _DCT.to(device=x.device, dtype=x.dtype)
    for p, (h, v) in zip(planes, sampling, strict=True):
        p = _round_through(p)  # the encoder's YCbCr samples are 8-bit integers
        fy, fx = vmax // v, hmax // h
        if fy > 1 or fx > 1:
            p = _round_through(torch.nn.functional.avg_pool2d(p[:, None], (fy, fx))[:, 0])
        b = _blocks(p - 128.0)
        out.append(d @ b @ d.T)
    return out


@dataclass(frozen=True)
class JpegCrop:
    """The MCU- and scale-aligned crop of a JPEG that is inverted, and the file's cells over it."""

    y0: int
    x0: int
    size: int
    pixels: np.ndarray  # (size, size, 3) float in [0, 1], the decoded crop
    cells: list[np.ndarray]  # per component, (by, bx, 8, 8) quantised coefficients of the file over the crop
    info: JpegInfo
    # the decoded pixels of the crop with its context (``context`` input pixels on each side, clipped at the
    # image's edges) and where the crop lies in them; None: no context (the crop alone is inverted)
    outer: np.ndarray | None = None
    offset: tuple[int, int] = (0, 0)


def _informative_offset(info: JpegInfo, h: int, w: int, side: int, step: int) -> tuple[int, int]:
    """The aligned window of ``side`` px, its centre within ``side / 2`` of the image's, with the most nonzero
    luma AC coefficients in the file (the most cells that constrain a candidate); ties: nearest the centre."""
    y = info.coefficients[0]
    nz = (y != 0).reshape(*y.shape[:2], 64)[..., 1:].sum(-1)
    best: tuple[float, float, int, int] | None = None
    for y0 in range(0, h - side + 1, step):
        for x0 in range(0, w - side + 1, step):
            dy, dx = abs(y0 + side / 2 - h / 2), abs(x0 + side / 2 - w / 2)
            if dy > side / 2 or dx > side / 2:
                continue
            key = (-float(nz[y0 // 8:(y0 + side) // 8, x0 // 8:(x0 + side) // 8].sum()), dy + dx, y0, x0)
            best = key if best is None or key < best else best
    if best is None:  # no window's centre is that close (cannot happen for an aligned side <= the image)
        return (h - side) // 2 // step * step, (w - side) // 2 // step * step
    return best[2], best[3]


def aligned_jpeg_crop(info: JpegInfo, decoded: np.ndarray, scale: int, size: int = JPEG_CROP, *,
                      select: bool = True, context: int = 0) -> JpegCrop:
    """The crop of a JPEG that is traced, aligned to its MCU grid and to ``scale``.

    With ``select``, the aligned window whose centre lies within half a side of the image's centre and
    that holds the most nonzero luma AC coefficients (:func:`_informative_offset`): a smooth window is
    fitted by every model alike (measured: a 64-px centre crop of a demo model's q 90 output, 12 cells
    missed by bicubic upscaling, left the true model and two others at 0-1). The calibration images are
    cropped by the same rule (:func:`~.jpeg_decide.jpeg_calibration`). Without it, the centre crop.

    Parameters
    ----------
    info : JpegInfo
        The file's structure and coefficients.
    decoded : ndarray
        The decoded image, ``(H, W, 3)`` float in ``[0, 1]``.
    scale : int
        The candidate's scale (1 for a same-size model).
    size : int
        Wanted side in output pixels (rounded up to a multiple of ``lcm(MCU, scale)``).
    select : bool
        Choose the most informative window near the centre (else the centre crop).
    context : int
        Input pixels of the model kept on each side of the crop (``JpegCrop.outer``), clipped at the image's
        edges: the output over the crop depends on them (:data:`JPEG_CONTEXT`).

    Returns
    -------
    JpegCrop
        Offsets, side, decoded pixels (with their context) and the file's coefficients over the crop.

    Raises
    ------
    SrprintError
        If the image is smaller than one aligned crop ("cannot align a crop to the MCU grid ...").
    """
    mh, mw = info.mcu
    step = math.lcm(mh, mw, max(scale, 1))
    side = -(-max(size, step) // step) * step
    h, w = decoded.shape[:2]
    while side > step and (side > h or side > w):
        side -= step
    if side > h or side > w:
        raise SrprintError(f"cannot align a crop to the JPEG's {mw}x{mh} MCU grid and the x{scale} scale grid: "
                           f"the image ({w}x{h} px) is smaller than {step} px")
    y0, x0 = _informative_offset(info, h, w, side, step) if select else (
        (h - side) // 2 // step * step, (w - side) // 2 // step * step)
    vmax, hmax = mh // 8, mw // 8
    cells = []
    for (hc, vc), c in zip(info.sampling, info.coefficients, strict=True):
        fy, fx = vmax // vc, hmax // hc
        cells.append(c[y0 // (8 * fy):(y0 + side) // (8 * fy), x0 // (8 * fx):(x0 + side) // (8 * fx)])
    outer, offset = None, (0, 0)
    if context > 0:  # whole input pixels around the crop, clipped at the image's edges (where the model padded)
        m = context * max(scale, 1)
        ya, xa = max(y0 - m, 0), max(x0 - m, 0)
        yb, xb = min(y0 + side + m, h - h % max(scale, 1)), min(x0 + side + m, w - w % max(scale, 1))
        outer, offset = decoded[ya:yb, xa:xb], (y0 - ya, x0 - xa)
    return JpegCrop(y0, x0, side, decoded[y0:y0 + side, x0:x0 + side], cells, info, outer, offset)


def _inner_masks(crop: JpegCrop, border: int) -> list[np.ndarray]:
    """Per component, which blocks lie ``border`` output pixels inside the crop (``(by, bx)`` bool)."""
    mh, mw = crop.info.mcu
    out = []
    for (hc, vc), c in zip(crop.info.sampling, crop.cells, strict=True):
        fy, fx = (mh // 8) // vc, (mw // 8) // hc
        by = np.arange(c.shape[0]) * 8 * fy
        bx = np.arange(c.shape[1]) * 8 * fx
        oky = (by >= border) & (by + 8 * fy <= crop.size - border)
        okx = (bx >= border) & (bx + 8 * fx <= crop.size - border)
        out.append(oky[:, None] & okx[None, :])
    return out


def pillow_encode(img8: np.ndarray, info: JpegInfo) -> bytes:
    """``img8`` (uint8 RGB) encoded by Pillow with the file's own tables and chroma subsampling."""
    from PIL import Image

    buf = io.BytesIO()
    tables = [t.ravel().tolist() for t in info.qtables[:2]] if len(info.qtables) > 1 else [
        info.qtables[0].ravel().tolist()]
    im = Image.fromarray(img8) if len(info.sampling) == 3 else Image.fromarray(img8).convert("L")
    im.save(buf, format="JPEG", qtables=tables, subsampling=info.pillow_subsampling)
    return buf.getvalue()


def requantisation_test(output: np.ndarray, crop: JpegCrop, *, border: int = JPEG_BORDER) -> dict[str, Any]:
    """The exact test: re-encode a candidate's output with the file's tables and compare the cells.

    Parameters
    ----------
    output : ndarray
        The candidate's output over the crop, ``(size, size, 3)`` float in ``[0, 1]`` (rounded to 8 bits here).
    crop : JpegCrop
        The crop and the file's cells.
    border : int
        Output pixels at the crop's edge whose blocks are left out.

    Returns
    -------
    dict
        ``violations`` (coefficients in another cell), ``n`` (coefficients compared), ``rate``,
        ``blocks_exact`` (share of compared blocks with every coefficient right).
    """
    from .jpeg_file import read_jpeg

    img8 = np.clip(np.round(np.asarray(output, np.float64) * 255), 0, 255).astype(np.uint8)
    mine = read_jpeg(pillow_encode(img8, crop.info)).coefficients
    viol, n, exact, nblocks = 0, 0, 0, 0
    for m, a, b in zip(_inner_masks(crop, border), mine, crop.cells, strict=True):
        a = a[:b.shape[0], :b.shape[1]][m]
        b = b[m]
        diff = (a != b).reshape(len(a), -1)
        viol += int(diff.sum())
        n += diff.size
        exact += int((~diff.any(1)).sum())
        nblocks += len(a)
    return {"violations": viol, "n": n, "rate": viol / max(n, 1), "blocks_exact": exact / max(nblocks, 1)}


def _window(out: torch.Tensor, crop: JpegCrop) -> torch.Tensor:
    """The crop's part of the model's output over the crop and its context."""
    oy, ox = crop.offset
    return out[..., oy:oy + crop.size, ox:ox + crop.size]


def _hinge(model: Any, x: torch.Tensor, crop: JpegCrop, qs: list[torch.Tensor], targets: list[torch.Tensor],
           masks: list[torch.Tensor], margin: float) -> torch.Tensor:
    out = _window(model(x), crop).clamp(0, 1)
    out = _round_through(out * 255) / 255  # the saved output is 8-bit
    loss = out.new_zeros(())
    count = 0
    for d, q, t, m in zip(forward_dct(out, crop.info.sampling), qs, targets, masks, strict=True):
        z = d[0][m] / q
        loss = loss + torch.relu((z - t[m]).abs() - 0.5 + margin).pow(2).sum()
        count += z.numel()
    return loss / max(count, 1)


@dataclass
class JpegInversion:
    """What :func:`jpeg_invert` reached for one candidate on one crop."""

    test: dict[str, Any]
    start_residual: float
    steps: int
    finite: bool = True


def jpeg_invert(model: Any, crop: JpegCrop, *, start_steps: int = START_STEPS, steps: int = HINGE_STEPS,
                lr: float = HINGE_LR, start_lr: float = 2e-3, margin: float = HINGE_MARGIN,
                border: int = JPEG_BORDER, check_every: int = 50) -> JpegInversion:
    """Search the input that puts ``model``'s 8-bit output in the file's cells; return the exact test at its best.

    Parameters
    ----------
    model : SRModel
        The candidate (``scale`` attribute; 1 for a same-size model).
    crop : JpegCrop
        The aligned crop (:func:`aligned_jpeg_crop`).
    start_steps, start_lr : int, float
        Plain pixel inversion of the decoded crop first (the start).
    steps, lr, margin : int, float, float
        Adam steps and first step size on the cell hinge (cosine decay to 0 over ``steps``), and how far
        inside a cell it aims.
    border : int
        Output pixels at the crop's edge whose blocks are neither fitted nor compared.
    check_every : int
        Run the exact test every this many hinge steps (and stop at zero violations).

    Returns
    -------
    JpegInversion
        The exact test of the best input found (fewest violations).

    Raises
    ------
    SrprintError
        If the crop does not fit the model's scale.
    """
    pixels = crop.pixels if crop.outer is None else crop.outer
    start = invert_model(model, pixels, steps=start_steps, lr=start_lr, border=border, return_input=True)
    if not start.finite or start.input is None:
        return JpegInversion({"violations": 0, "n": 0, "rate": math.inf, "blocks_exact": 0.0}, math.inf, 0, False)
    x = start.input.clone().requires_grad_(True)
    dev = x.device
    qs = [torch.from_numpy(t.astype(np.float32)).to(dev) for t in crop.info.qtables]
    targets = [torch.from_numpy(c.astype(np.float32)).to(dev) for c in crop.cells]
    masks = [torch.from_numpy(m).to(dev) for m in _inner_masks(crop, border)]

    def exact() -> dict[str, Any]:
        with torch.no_grad():
            out = _window(model(x), crop).clamp(0, 1)[0].cpu().numpy().transpose(1, 2, 0)
        return requantisation_test(out, crop, border=border)

    best = exact()
    opt = torch.optim.Adam([x], lr=lr)
    # a cosine decay: measured on a q 90 JPEG of a demo model's 160-px output, the true model's violations
    # fell to 4 of 28928 (a constant 2e-3: 43, the step size made it oscillate) and its seed sibling's to 120
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / max(steps, 1))))
    done = 0
    for it in range(1, steps + 1):
        if best["violations"] == 0:
            break
        loss = _hinge(model, x, crop, qs, targets, masks, margin)
        if not torch.isfinite(loss):
            break
        descend(opt, loss, x)
        sched.step()
        done = it
        if it % check_every == 0 or it == steps:
            now = exact()
            if now["violations"] < best["violations"]:
                best = now
    return JpegInversion(best, start.residual, done)


def jpeg_source(path: Any) -> tuple[JpegInfo, np.ndarray] | None:
    """The parsed JPEG and its decoded RGB pixels when ``path`` is a JPEG file, else None.

    Raises
    ------
    JpegUnsupportedError
        If the file is a JPEG srprint cannot read coefficient by coefficient (one line saying why);
        :class:`~.jpeg_file.JpegColourError` when only its colour coding (CMYK, YCCK, RGB) is the reason.
    """
    from pathlib import Path

    from PIL import Image

    from .jpeg_file import read_jpeg

    data = Path(path).read_bytes()
    if data[:2] != b"\xff\xd8":
        return None
    info = read_jpeg(data)
    if len(info.sampling) == 3 and info.adobe_transform == 0:
        raise JpegColourError("RGB-coded JPEG (Adobe transform 0): srprint traces YCbCr JPEGs only")
    if info.subsampling == "unusual":
        raise JpegUnsupportedError(f"JPEG with chroma sampling {info.sampling}: srprint traces 4:4:4, 4:2:2 and "
                              "4:2:0 only")
    with Image.open(io.BytesIO(data)) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    return info, rgb


def looks_like_former_jpeg(img: np.ndarray, *, factor: float = 1.12) -> bool:
    """Whether an image (not a JPEG file) shows the 8x8 blocking of a past JPEG compression.

    The luma's mean absolute step across the 8-px grid lines (columns 7|8, rows 7|8) is compared with the
    largest step at the other odd offsets (1|2, 3|4, 5|6), which share the grid of a x2 or x4 upscaler;
    blocking makes the geometric mean of the two directions' ratios exceed ``factor`` (on 128-px crops of
    three scikit-image photos: 0.98-1.02 unblocked, 1.14-1.2 after JPEG q 75, 1.3-1.4 after q 40; q 90
    is not told apart). An x8 upscaler's own grid coincides with JPEG's, so its output can look blocked.
    """
    y = np.asarray(img[..., :3], np.float64) @ np.array([0.299, 0.587, 0.114])
    if min(y.shape) < 32:
        return False
    ratios = []
    for a in (y, y.T):
        d = np.abs(np.diff(a, axis=1))
        n = d.shape[1] // 8 * 8
        phase = d[:, :n].reshape(d.shape[0], -1, 8).mean((0, 1))
        ratios.append(phase[7] / max(phase[1], phase[3], phase[5], 1e-9))
    return math.sqrt(ratios[0] * ratios[1]) > factor
