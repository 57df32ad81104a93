"""Read what a JPEG file holds: its quantisation tables, chroma subsampling and quantised DCT coefficients.

Tracing a JPEG needs the exact quantisation cell of every DCT coefficient, which a decoder's pixels do
not give. :func:`read_jpeg` parses the markers and Huffman-decodes the coefficients itself (pure Python,
bounded by the pixel limit), for the JPEGs a camera, a browser or Pillow writes: baseline or extended
sequential Huffman coding, 8-bit samples, one interleaved scan, grey (one component) or YCbCr (three),
restart markers included. Anything else (progressive, arithmetic coding, lossless, 12-bit, CMYK/YCCK,
several sequential scans) is refused with one :class:`JpegUnsupportedError` line; a CMYK or YCCK one with its
subclass :class:`JpegColourError` (``srprint trace`` then traces its decoded pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import SrprintError

# the JPEG zig-zag order: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient of a scan
ZIGZAG = np.array([0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
                   20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
                   59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])
_UNSUPPORTED_SOF = {0xC2: "progressive", 0xC3: "lossless", 0xC5: "hierarchical", 0xC6: "hierarchical progressive",
                    0xC7: "hierarchical lossless", 0xC9: "arithmetic-coded", 0xCA: "arithmetic-coded progressive",
                    0xCB: "arithmetic-coded lossless", 0xCD: "arithmetic-coded hierarchical",
                    0xCE: "arithmetic-coded hierarchical progressive",
                    0xCF: "arithmetic-coded hierarchical lossless"}
MAX_PIXELS = 40_000_000


class JpegUnsupportedError(SrprintError):
    """A JPEG that srprint cannot read coefficient by coefficient (progressive, arithmetic, CMYK, ...)."""


class JpegColourError(JpegUnsupportedError):
    """A JPEG whose colour coding is not YCbCr or grey (CMYK, YCCK, RGB-coded): its pixels decode, but the
    requantisation test models a YCbCr encoder, so a trace reads it by its pixels instead."""


@dataclass
class JpegInfo:
    """A baseline JPEG's structure and coefficients.

    Attributes
    ----------
    width, height : int
        Image size in pixels.
    sampling : tuple of (int, int)
        ``(h, v)`` sampling factors per component (Y first).
    qtables : list of ndarray
        The ``(8, 8)`` quantisation table of each component, natural order.
    coefficients : list of ndarray
        Per component, the quantised coefficients as ``(blocks_y, blocks_x, 8, 8)`` int32 (natural order),
        over the whole padded MCU grid.
    restart_interval : int
        MCUs between restart markers (0: none).
    adobe_transform : int or None
        The Adobe APP14 colour transform flag, when present.
    """

    width: int
    height: int
    sampling: list[tuple[int, int]]
    qtables: list[np.ndarray]
    coefficients: list[np.ndarray] = field(repr=False)
    restart_interval: int = 0
    adobe_transform: int | None = None

    @property
    def subsampling(self) -> str:
        """``4:4:4``, ``4:2:2``, ``4:2:0`` or ``grey`` (other layouts: ``HxV`` of the luma)."""
        if len(self.sampling) == 1:
            return "grey"
        (h, v), rest = self.sampling[0], self.sampling[1:]
        if any(s != (1, 1) for s in rest):
            return "unusual"
        return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0"}.get((h, v), f"{h}x{v}")

    @property
    def mcu(self) -> tuple[int, int]:
        """The MCU's height and width in pixels (the grid a crop must follow)."""
        return 8 * max(v for _, v in self.sampling), 8 * max(h for h, _ in self.sampling)

    @property
    def pillow_subsampling(self) -> int:
        """Pillow's ``subsampling=`` value for this layout (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0).

        Raises
        ------
        JpegUnsupportedError
            If Pillow cannot write this layout.
        """
        try:
            return {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2, "grey": 0}[self.subsampling]
        except KeyError:
            raise JpegUnsupportedError(f"chroma sampling {self.sampling} cannot be re-encoded by Pillow") from None


def _u16(data: bytes, i: int) -> int:
    return (data[i] << 8) | data[i + 1]


def _huffman_lookup(counts: bytes, symbols: bytes) -> list[int]:
    """A 16-bit peek table: entry = symbol << 8 | code length (0: invalid code)."""
    table = [0] * 65536
    code, k = 0, 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            if k >= len(symbols) or code >= (1 << length):
                raise JpegUnsupportedError("corrupt JPEG: bad Huffman table")
            lo = code << (16 - length)
            hi = (code + 1) << (16 - length)
            val = (symbols[k] << 8) | length
            table[lo:hi] = [val] * (hi - lo)
            code += 1
            k += 1
        code <<= 1
    return table


def _segments(data: bytes, start: int) -> tuple[list[bytes], int]:
    """The entropy-coded data from ``start``, split at restart markers and unstuffed; and the end offset."""
    out, cur, i, n = [], bytearray(), start, len(data)
    while i < n:
        b = data[i]
        if b != 0xFF:
            j = data.find(b"\xff", i)
            j = n if j < 0 else j
            cur += data[i:j]
            i = j
            continue
        if i + 1 >= n:
            break
        m = data[i + 1]
        if m == 0x00:
            cur.append(0xFF)
            i += 2
        elif m == 0xFF:
            i += 1
        elif 0xD0 <= m <= 0xD7:
            out.append(bytes(cur))
            cur = bytearray()
            i += 2
        else:
            break
    out.append(bytes(cur))
    return out, i


def _decode_scan(segments: list[bytes], comps: list[dict], tables: dict, mcus: tuple[int, int],
                 restart: int) -> list[np.ndarray]:
    mcu_rows, mcu_cols = mcus
    coefs = [np.zeros((mcu_rows * c["v"], mcu_cols * c["h"], 64), np.int32) for c in comps]
    total = mcu_rows * mcu_cols
    per = restart or total
    seg_i = 0
    for first in range(0, total, per):
        if seg_i >= len(segments):
            raise JpegUnsupportedError("corrupt JPEG: the scan ends early")
        data = segments[seg_i]
        seg_i += 1
        nbytes, pos, acc, nbits = len(data), 0, 0, 0
        preds = [0] * len(comps)
        for m in range(first, min(first + per, total)):
            my, mx = divmod(m, mcu_cols)
            for ci, c in enumerate(comps):
                dc_t, ac_t, blk = tables[("dc", c["td"])], tables[("ac", c["ta"])], coefs[ci]
                for by in range(c["v"]):
                    for bx in range(c["h"]):
                        row = blk[my * c["v"] + by, mx * c["h"] + bx]
                        k = 0
                        while k < 64:
                            while nbits < 32:
                                acc = (acc << 8) | (data[pos] if pos < nbytes else 0)
                                pos += 1
                                nbits += 8
                            e = (dc_t if k == 0 else ac_t)[(acc >> (nbits - 16)) & 0xFFFF]
                            if not e:
                                raise JpegUnsupportedError("corrupt JPEG: invalid Huffman code")
                            nbits -= e & 0xFF
                            sym = e >> 8
                            if k == 0:
                                size = sym
                                if size > 16:
                                    raise JpegUnsupportedError("corrupt JPEG: bad DC coefficient size")
                                diff = 0
                                if size:
                                    diff = (acc >> (nbits - size)) & ((1 << size) - 1)
                                    nbits -= size
                                    if diff < (1 << (size - 1)):
                                        diff -= (1 << size) - 1
                                preds[ci] += diff
                                row[0] = preds[ci]
                                k = 1
                                continue
                            run, size = sym >> 4, sym & 15
                            if size == 0:
                                if run == 15:
                                    k += 16
                                    continue
                                break  # end of block
                            k += run
                            if k > 63:
                                raise JpegUnsupportedError("corrupt JPEG: AC run past the block")
                            v = (acc >> (nbits - size)) & ((1 << size) - 1)
                            nbits -= size
                            if v < (1 << (size - 1)):
                                v -= (1 << size) - 1
                            row[ZIGZAG[k]] = v
                            k += 1
                acc &= (1 << nbits) - 1
            if pos > nbytes + 8:
                raise JpegUnsupportedError("corrupt JPEG: the scan ends early")
    return [c.reshape(c.shape[0], c.shape[1], 8, 8) for c in coefs]


def read_jpeg(data: bytes) -> JpegInfo:
    """Parse a JPEG file's bytes (see :func:`_read_jpeg`); any malformed structure is one
    :class:`JpegUnsupportedError` line.

    Raises
    ------
    JpegUnsupportedError
        If the file is not a JPEG, is corrupt, or uses a coding srprint does not read.
    """
    try:
        return _read_jpeg(data)
    except (IndexError, ValueError, KeyError, OverflowError) as exc:
        raise JpegUnsupportedError(f"corrupt JPEG: {type(exc).__name__} while parsing") from None


def _read_jpeg(data: bytes) -> JpegInfo:  # noqa: C901 - one marker loop
    """Parse a JPEG file's bytes: tables, sampling and every quantised DCT coefficient.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    JpegInfo
        Size, sampling, quantisation tables (natural order) and coefficients.

    Raises
    ------
    JpegUnsupportedError
        If the file is not a JPEG, is corrupt, or uses a coding srprint does not read (progressive,
        arithmetic, lossless, hierarchical, 12-bit, CMYK/YCCK, several sequential scans).
    """
    if data[:2] != b"\xff\xd8":
        raise JpegUnsupportedError("not a JPEG file (no SOI marker)")
    qt: dict[int, np.ndarray] = {}
    tables: dict = {}
    frame: dict | None = None
    restart, adobe, i, n = 0, None, 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise JpegUnsupportedError(f"corrupt JPEG: expected a marker at byte {i}")
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            i += 2
            continue
        if m == 0xD9:
            break
        length = _u16(data, i + 2)
        seg = data[i + 4:i + 2 + length]
        if length < 2 or len(seg) != length - 2:
            raise JpegUnsupportedError("corrupt JPEG: a segment runs past the end of the file")
        if m in _UNSUPPORTED_SOF:
            raise JpegUnsupportedError(f"{_UNSUPPORTED_SOF[m]} JPEG: srprint traces sequential Huffman-coded "
                                  "(baseline) JPEGs only")
        if m == 0xCC:
            raise JpegUnsupportedError("arithmetic-coded JPEG: srprint traces sequential Huffman-coded (baseline) "
                                  "JPEGs only")
        if m in (0xC0, 0xC1):
            if seg[0] != 8:
                raise JpegUnsupportedError(f"{seg[0]}-bit JPEG: srprint traces 8-bit JPEGs only")
            h, w, nc = _u16(seg, 1), _u16(seg, 3), seg[5]
            if nc == 4:
                raise JpegColourError("4-component JPEG (CMYK or YCCK): srprint traces grey and colour (YCbCr) "
                                      "JPEGs only")
            if nc not in (1, 3):
                raise JpegUnsupportedError(f"{nc}-component JPEG: srprint traces grey and colour (YCbCr) JPEGs only")
            if h == 0 or w == 0 or h * w > MAX_PIXELS:
                raise JpegUnsupportedError(f"JPEG of {w}x{h} px: empty or over the {MAX_PIXELS} pixel limit")
            comps = [{"id": seg[6 + 3 * k], "h": seg[7 + 3 * k] >> 4, "v": seg[7 + 3 * k] & 15,
                      "tq": seg[8 + 3 * k]} for k in range(nc)]
            if any(not 1 <= c["h"] <= 4 or not 1 <= c["v"] <= 4 for c in comps):
                raise JpegUnsupportedError("corrupt JPEG: bad sampling factors")
            frame = {"h": h, "w": w, "comps": comps}
        elif m == 0xC4:
            k = 0
            while k < len(seg):
                tc, th = seg[k] >> 4, seg[k] & 15
                counts = seg[k + 1:k + 17]
                nsym = sum(counts)
                tables[("dc" if tc == 0 else "ac", th)] = _huffman_lookup(counts, seg[k + 17:k + 17 + nsym])
                k += 17 + nsym
        elif m == 0xDB:
            k = 0
            while k < len(seg):
                pq, tq = seg[k] >> 4, seg[k] & 15
                size = 128 if pq else 64
                raw = np.frombuffer(seg[k + 1:k + 1 + size], dtype=">u2" if pq else np.uint8).astype(np.int32)
                if raw.size != 64:
                    raise JpegUnsupportedError("corrupt JPEG: short quantisation table")
                tab = np.zeros(64, np.int32)
                tab[ZIGZAG] = raw
                qt[tq] = tab.reshape(8, 8)
                k += 1 + size
        elif m == 0xDD:
            restart = _u16(seg, 0)
        elif m == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
            adobe = seg[11]
        elif m == 0xDA:
            if frame is None:
                raise JpegUnsupportedError("corrupt JPEG: scan before frame header")
            ns = seg[0]
            if ns != len(frame["comps"]):
                raise JpegUnsupportedError("multi-scan sequential JPEG: srprint traces single-scan JPEGs only")
            for k in range(ns):
                cid, t = seg[1 + 2 * k], seg[2 + 2 * k]
                c = next((c for c in frame["comps"] if c["id"] == cid), None)
                if c is None:
                    raise JpegUnsupportedError("corrupt JPEG: scan names an unknown component")
                c["td"], c["ta"] = t >> 4, t & 15
            for c in frame["comps"]:
                if ("dc", c["td"]) not in tables or ("ac", c["ta"]) not in tables or c["tq"] not in qt:
                    raise JpegUnsupportedError("corrupt JPEG: a table the scan uses is missing")
            hmax = max(c["h"] for c in frame["comps"])
            vmax = max(c["v"] for c in frame["comps"])
            if len(frame["comps"]) == 1:  # a one-component scan is not interleaved: its MCU is one block
                frame["comps"][0]["h"] = frame["comps"][0]["v"] = hmax = vmax = 1
            mcus = (-(-frame["h"] // (8 * vmax)), -(-frame["w"] // (8 * hmax)))
            segments, _ = _segments(data, i + 2 + length)
            coefs = _decode_scan(segments, frame["comps"], tables, mcus, restart)
            return JpegInfo(width=frame["w"], height=frame["h"],
                            sampling=[(c["h"], c["v"]) for c in frame["comps"]],
                            qtables=[qt[c["tq"]] for c in frame["comps"]], coefficients=coefs,
                            restart_interval=restart, adobe_transform=adobe)
        i += 2 + length
    raise JpegUnsupportedError("corrupt JPEG: no frame or scan")
