"""Parameter lineage: are the suspect's weights derived from the source's?

A copy keeps its source's weights up to small changes (pruning, fine-tuning, quantisation), but an
adversary can also re-parameterise it without changing its function: permute hidden channels,
rescale a channel by ``a > 0`` before a ReLU and by ``1 / a`` after it, fold BatchNorm into the
convolution, cast to fp16. So the weights are compared after canonicalising both models:

1. **Capture.** Both models run on the same probe images with forward hooks on every convolution
   and linear layer (first call of each module, in call order). A BatchNorm applied directly to a
   convolution's output is folded into it (``W * g / s``, ``(b - m) * g / s + beta``).
2. **Pair layers.** The two call sequences are matched by layer shape (``difflib``); the share of
   parameters in paired layers is the *coverage*. Another architecture pairs few layers.
3. **Align channels.** For each paired layer, the output channels (and, separately, the input
   channels) of the suspect are matched to the source's by the correlation of their activations on
   the probe, with the Hungarian algorithm. A permuted copy has identical activations up to order.
4. **Undo rescaling.** The per-(output, input) kernel norms of each layer are Sinkhorn-balanced, so
   a layer and ``D1 W D2`` (``D1``, ``D2`` positive diagonal) have the same canonical weights up to
   one scalar, which the cosine ignores.
5. **Compare.** The cosine similarity of the canonical weights, per layer; the statistic ``S`` is
   its parameter-weighted mean over paired layers.

:func:`null_similarities` gives the statistic's null distribution for a source, from random
re-initialisations of the suspect's architecture and from reference models known to be
independent; :func:`lineage_p_value` turns it into a p-value (see its docstring).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import t as student_t
from torch import nn

from ..errors import SrprintError

PROBE_SIZE = 32  # probe side in input pixels: enough positions to correlate channels, cheap on a CPU
PROBE_FALLBACK_SIZE = 64  # some architectures (strided ESA blocks) need larger inputs
MAX_POSITIONS = 4096  # activation samples per channel used to align channels
SINKHORN_ITERS = 30
# share of the canonical-weight cosine in the channel-matching score: activations decide where they are
# informative; the weights decide between channels the probe cannot tell apart (dead, near-constant, alike)
TIE_WEIGHT = 0.25
SPREAD_FLOOR = 0.1
MIN_COVERAGE = 0.5  # below this share of paired parameters the lineage stage does not decide
_LAYER_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)
_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class LineageError(SrprintError):
    """Two models whose parameters cannot be compared (no paired layer, failing forward pass)."""


@dataclass
class Layer:
    """One captured convolution / linear layer, BatchNorm folded, in ``(out, in, k)`` layout."""

    name: str
    kind: str
    weight: np.ndarray  # (out, in_per_group, prod(kernel)), float64
    groups: int
    in_act: np.ndarray  # (in_channels, positions)
    out_act: np.ndarray  # (out_channels, positions)
    folded_bn: str | None = None
    bias_size: int = 0
    kernel: tuple[int, ...] = ()  # spatial kernel shape (empty for a linear layer)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, *self.weight.shape, self.groups)

    @property
    def size(self) -> int:
        """Parameters of the layer (weight and bias): what pairing it covers."""
        return int(self.weight.size) + self.bias_size


@dataclass
class Capture:
    """Every layer of one model on the probe, plus the parameter count of the modules that ran (BatchNorm
    excluded)."""

    layers: list[Layer]
    total_params: int


@dataclass
class LineageResult:
    """Paired-layer cosines after canonicalisation, the statistic ``S`` and the coverage."""

    similarity: float  # S: parameter-weighted mean cosine over paired layers
    coverage: float  # paired parameters / parameters of the larger model
    paired_layers: int
    layers_source: int
    layers_suspect: int
    per_layer: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (source layer, suspect layer) indices, v3 only

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d = {"similarity": self.similarity, "coverage": self.coverage, "paired_layers": self.paired_layers,
             "layers_source": self.layers_source, "layers_suspect": self.layers_suspect}
        if full:
            d["per_layer"] = self.per_layer
        return d


def probe_images(size: int = PROBE_SIZE, seed: int = 0) -> torch.Tensor:
    """Two fixed probe images in ``[0, 1]``: uniform noise and a smooth random field (``(2, 3, s, s)``)."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 3, size, size, generator=gen)
    coarse = torch.rand(1, 3, max(size // 8, 2), max(size // 8, 2), generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return torch.cat([noise, smooth], dim=0)


def _as_channels(t: torch.Tensor, channels_last: bool) -> np.ndarray:
    """``(C, positions)`` float64 activations of ``t``, at most :data:`MAX_POSITIONS` of them
    (:func:`_subsample`, before the copy to float64: converting every position first was a quarter of a
    CRAFT capture's time; the values are the same)."""
    t = t.detach()
    if channels_last:  # Linear: (..., C)
        return _subsample(t.reshape(-1, t.shape[-1]).T)
    return _subsample(t.transpose(0, 1).reshape(t.shape[1], -1))  # (B, C, *spatial) -> (C, B * spatial)


_POSITIONS: dict[tuple[int, int], torch.Tensor] = {}  # (seed, n) -> the positions kept (drawn once per process)


def _subsample(a: torch.Tensor, seed: int = 0) -> np.ndarray:
    n = a.shape[1]
    if n > MAX_POSITIONS:
        idx = _POSITIONS.get((seed, n))
        if idx is None:  # the same draw for every layer of this size (a permutation of n per layer was slow)
            pick = np.random.default_rng(seed + n).choice(n, MAX_POSITIONS, replace=False)
            pick.sort()
            idx = _POSITIONS.setdefault((seed, n), torch.from_numpy(pick))
        a = a.index_select(1, idx.to(a.device))
    return a.double().cpu().numpy()


def _layer_weight(mod: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    w = mod.weight.detach().double().cpu()
    b = mod.bias.detach().double().cpu() if getattr(mod, "bias", None) is not None else None
    if isinstance(mod, nn.Linear):
        return w[:, :, None], b, 1
    groups = int(mod.groups)
    if isinstance(mod, nn.ConvTranspose1d | nn.ConvTranspose2d):  # (in, out/g, k) -> (out, in/g, k)
        cin, cout_g = w.shape[:2]
        w = w.reshape(groups, cin // groups, cout_g, -1).transpose(1, 2).reshape(groups * cout_g, cin // groups, -1)
        return w, b, groups
    return w.reshape(w.shape[0], w.shape[1], -1), b, groups


def capture(net: nn.Module, probe: torch.Tensor) -> Capture:
    """Run ``net`` on ``probe`` and capture its layers (see the module docstring, step 1).

    Raises
    ------
    LineageError
        The forward pass fails or yields no convolution / linear layer.
    """
    records: list[dict[str, Any]] = []
    seen: set[int] = set()
    last_out: dict[str, Any] = {}
    names = {id(m): n for n, m in net.named_modules()}

    def layer_hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if id(mod) in seen or not inputs or not isinstance(inputs[0], torch.Tensor) or not isinstance(output,
                                                                                                       torch.Tensor):
            return
        seen.add(id(mod))
        w, b, groups = _layer_weight(mod)
        lin = isinstance(mod, nn.Linear)
        rec = {"name": names.get(id(mod), "?"), "kind": type(mod).__name__, "w": w, "b": b, "groups": groups,
               "kernel": tuple(int(k) for k in getattr(mod, "kernel_size", ())),
               "in": _as_channels(inputs[0], lin), "out": _as_channels(output, lin), "bn": None}
        records.append(rec)
        last_out["ptr"], last_out["shape"], last_out["rec"] = output.data_ptr(), tuple(output.shape), rec

    def norm_hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        x = inputs[0] if inputs else None
        rec = last_out.get("rec")
        if (rec is None or rec["bn"] is not None or not isinstance(x, torch.Tensor) or x.data_ptr() != last_out["ptr"]
                or tuple(x.shape) != last_out["shape"] or mod.running_var is None):
            return
        g = mod.weight.detach().double().cpu() if mod.weight is not None else torch.ones(mod.num_features).double()
        beta = mod.bias.detach().double().cpu() if mod.bias is not None else torch.zeros(mod.num_features).double()
        s = g / torch.sqrt(mod.running_var.detach().double().cpu() + mod.eps)
        b = rec["b"] if rec["b"] is not None else torch.zeros_like(s)
        rec["w"] = rec["w"] * s[:, None, None]
        rec["b"] = (b - mod.running_mean.detach().double().cpu()) * s + beta
        rec["out"] = _as_channels(output, False)
        rec["bn"] = names.get(id(mod), "?")

    called: set[int] = set()

    def any_hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        called.add(id(mod))

    handles = []
    for mod in net.modules():
        handles.append(mod.register_forward_hook(any_hook))
        if isinstance(mod, _LAYER_TYPES):
            handles.append(mod.register_forward_hook(layer_hook))
        elif isinstance(mod, _NORM_TYPES):
            handles.append(mod.register_forward_hook(norm_hook))
    try:
        with torch.no_grad():
            net(probe)
    except Exception as exc:  # noqa: BLE001 - any failing forward pass is reported the same way
        shape = tuple(probe.shape)
        raise LineageError(f"forward pass on the {shape} probe failed ({type(exc).__name__}: {exc})") from exc
    finally:
        for h in handles:
            h.remove()
    if not records:
        raise LineageError("the model has no convolution or linear layer to compare")
    layers = [Layer(r["name"], r["kind"], r["w"].numpy(), r["groups"], r["in"], r["out"],
                    r["bn"], int(r["b"].numel()) if r["b"] is not None else 0, r["kernel"]) for r in records]
    # parameters of the modules the forward pass ran (a multi-scale file's heads for other scales do not
    # count: they cannot shape this model's outputs); BatchNorm is folded into the layers
    total = sum(p.numel() for m in net.modules() if id(m) in called and not isinstance(m, _NORM_TYPES)
                for p in m.parameters(recurse=False))
    return Capture(layers, int(total))


def capture_model(model: Any, size: int = PROBE_SIZE) -> Capture:
    """:func:`capture` of an :class:`~srprint.zoo.model.SRModel` (or any RGB-in module), in float32
    on the CPU, on :func:`probe_images` (retried at :data:`PROBE_FALLBACK_SIZE` if the forward pass fails)."""
    net = model.float().cpu().eval()
    try:
        return capture(net, probe_images(size))
    except LineageError:
        if size >= PROBE_FALLBACK_SIZE:
            raise
        return capture(net, probe_images(PROBE_FALLBACK_SIZE))


def _standardise(a: np.ndarray) -> np.ndarray:
    """Centre each channel and divide by its spread, floored at :data:`SPREAD_FLOOR` x the layer's median
    spread: a nearly constant channel (dead, or a zero filter) carries no alignment evidence, and its
    correlations, dominated by rounding noise, are shrunk towards 0 instead of being trusted."""
    a = a - a.mean(axis=1, keepdims=True)  # a new array: the steps below work in place (memory-bound otherwise)
    sd = np.sqrt(np.einsum("ij,ij->i", a, a) / max(a.shape[1], 1))[:, None]
    floor = SPREAD_FLOOR * float(np.median(sd)) if sd.size else 0.0
    a /= np.sqrt(sd * sd + floor * floor + 1e-300)
    return a


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(channels_a, channels_b)`` correlations of two layers' activations (:func:`_standardise`)."""
    return _standardise(a) @ _standardise(b).T / a.shape[1]


def match_channels(a: np.ndarray, b: np.ndarray, tie_a: np.ndarray | None = None,
                   *, tie_b: np.ndarray | None = None, score: np.ndarray | None = None) -> np.ndarray:
    """Permutation ``p`` with ``b[p]`` aligned to ``a``: Hungarian matching of activation correlations.

    ``a``, ``b``: ``(channels, positions)`` activations of the two models on the same probe.
    ``tie_a``, ``tie_b``: optional ``(channels, features)`` rows (weights) whose cosine, weighted by
    :data:`TIE_WEIGHT`, breaks ties between channels the probe leaves constant (dead after a ReLU).
    ``score``: :func:`correlation` of ``a`` and ``b`` when the caller has it already.

    Raises
    ------
    LineageError
        On: "activations of different shapes … vs …".
    """
    if a.shape != b.shape:
        raise LineageError(f"activations of different shapes {a.shape} vs {b.shape}")
    if a.shape[0] == 1:
        return np.zeros(1, dtype=np.int64)
    score = correlation(a, b) if score is None else score
    if tie_a is not None and tie_b is not None:
        na = tie_a / np.maximum(np.linalg.norm(tie_a, axis=1, keepdims=True), 1e-30)
        nb = tie_b / np.maximum(np.linalg.norm(tie_b, axis=1, keepdims=True), 1e-30)
        score = score + TIE_WEIGHT * (na @ nb.T)
    rows, cols = linear_sum_assignment(-score)
    perm = np.empty(a.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def canonical_weight(w: np.ndarray, iters: int = SINKHORN_ITERS) -> np.ndarray:
    """Sinkhorn-balance the ``(out, in)`` kernel norms of ``w`` (``(out, in, k)``): the result is the
    same for ``w`` and ``D1 w D2`` (positive diagonal ``D1``, ``D2``) up to one scalar factor."""
    norms = np.sqrt((w * w).sum(axis=2))
    norms = norms + 1e-12 * max(float(norms.mean()), 1e-30)
    r, c = np.ones(norms.shape[0]), np.ones(norms.shape[1])
    for _ in range(iters):
        r = 1.0 / (norms @ c)
        c = 1.0 / (norms.T @ r)
    return w * r[:, None, None] * c[None, :, None]


def canonical_of(layer: Layer) -> np.ndarray:
    """:func:`canonical_weight` of ``layer``'s weights, computed once per captured layer (the permutation and
    identity frames of :mod:`.alignment` both read it)."""
    cw = getattr(layer, "_canonical", None)
    if cw is None:
        cw = canonical_weight(layer.weight)
        layer._canonical = cw  # type: ignore[attr-defined]  (a cache on the capture, not a field)
    return cw


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a.ravel(), b.ravel()) / (na * nb))


def compare_layers(la: Layer, lb: Layer) -> float:
    """Cosine of the canonical weights of two paired layers after aligning ``lb``'s channels to ``la``'s.

    Sinkhorn balancing commutes with channel permutations, so both layers are canonicalised first and
    their canonical rows / columns help the matching: output channels by activations alone, then input
    channels by activations plus columns (rows aligned), then output channels again with rows (columns
    aligned)."""
    ca, cb = canonical_of(la), canonical_of(lb)
    same_out = la.out_act.shape == lb.out_act.shape
    same_in = la.groups == 1 and cb.shape[1] > 1 and la.in_act.shape == lb.in_act.shape
    corr_out = correlation(la.out_act, lb.out_act) if same_out else None  # used twice below
    p_out = match_channels(la.out_act, lb.out_act, score=corr_out) if same_out else np.arange(cb.shape[0])
    p_in = np.arange(cb.shape[1])
    if same_in:
        cols_a = ca.transpose(1, 0, 2).reshape(ca.shape[1], -1)
        cols_b = cb[p_out].transpose(1, 0, 2).reshape(cb.shape[1], -1)
        p_in = match_channels(la.in_act, lb.in_act, cols_a, tie_b=cols_b)
    if same_out:
        p_out = match_channels(la.out_act, lb.out_act, ca.reshape(ca.shape[0], -1),
                               tie_b=cb[:, p_in].reshape(cb.shape[0], -1), score=corr_out)
    m = np.sqrt(_importance(la.weight))[:, :, None]
    return _cosine(ca * m, cb[p_out][:, p_in] * m)


def _importance(w: np.ndarray) -> np.ndarray:
    """``(out, in)`` weights of the kernel blocks in the cosine, from the source's own weights: a row or
    column whose norm is below the layer's median counts in proportion (``min(norm / median, 1)``).
    Balancing gives every row and column the same mass, so without this a near-zero filter (dead, pruned)
    would weigh as much as a working one while rounding alone rewrites it."""
    norms = np.sqrt((w * w).sum(axis=2))
    rows, cols = norms.sum(axis=1), norms.sum(axis=0)
    r = np.minimum(rows / max(float(np.median(rows)), 1e-30), 1.0)
    c = np.minimum(cols / max(float(np.median(cols)), 1e-30), 1.0)
    return r[:, None] * c[None, :]


def _coverage(a: Capture, b: Capture, key: Callable[[Layer], Any]) -> float:
    """Share of ``a``'s parameters in layers that pair in call order when layers are compared by ``key``."""
    sm = difflib.SequenceMatcher(None, [key(x) for x in a.layers], [key(x) for x in b.layers], autojunk=False)
    paired = sum(a.layers[m.a + k].size for m in sm.get_matching_blocks() for k in range(m.size))
    return float(min(paired / max(a.total_params, 1), 1.0))


def kind_coverage(a: Capture, b: Capture) -> float:
    """Share of ``a``'s parameters in layers that pair by *kind* in call order (convolution or linear,
    grouped or not), whatever their widths and kernel sizes: low only for another kind of network. Unlike
    :func:`shape_coverage` an adversary cannot lower it by widening layers or padding kernels."""
    return _coverage(a, b, lambda x: (x.kind, x.groups > 1))


def shape_coverage(a: Capture, b: Capture) -> float:
    """Share of ``a``'s parameters in layers that pair by shape in call order (v2's pairing): low for
    another architecture, whatever the layers compute."""
    return _coverage(a, b, lambda x: x.key)


def compare_captures(a: Capture, b: Capture) -> LineageResult:
    """The lineage statistic between two captured models (module docstring, steps 2-5)."""
    sm = difflib.SequenceMatcher(None, [x.key for x in a.layers], [x.key for x in b.layers], autojunk=False)
    per_layer, num, paired = [], 0.0, 0
    for block in sm.get_matching_blocks():
        for k in range(block.size):
            la, lb = a.layers[block.a + k], b.layers[block.b + k]
            cos = compare_layers(la, lb)
            per_layer.append({"source": la.name, "suspect": lb.name, "params": la.size, "cosine": cos})
            num += cos * la.size
            paired += la.size
    total = max(a.total_params, b.total_params, 1)
    sim = num / paired if paired else 0.0
    return LineageResult(float(sim), float(min(paired / total, 1.0)), len(per_layer), len(a.layers), len(b.layers),
                         per_layer)


def randomised_copy(net: nn.Module, seed: int) -> nn.Module:
    """A copy of ``net`` re-initialised as an independent model of the same architecture: every module
    with a ``reset_parameters`` (convolutions, linear layers, norms) redraws its parameters with its
    own initialiser; other parameters are redrawn as ``N(0, std(original))``."""
    import copy

    gen = torch.Generator().manual_seed(seed)
    out = copy.deepcopy(net)
    reset: set[int] = set()
    with torch.no_grad():
        for k, mod in enumerate(out.modules()):
            if hasattr(mod, "reset_parameters") and callable(mod.reset_parameters):
                torch.manual_seed(seed * 100003 + k)
                try:
                    mod.reset_parameters()
                except (TypeError, RuntimeError, NotImplementedError):
                    continue
                reset.update(id(p) for p in mod.parameters(recurse=False))
        for p in out.parameters():
            if id(p) not in reset and p.is_floating_point() and p.numel() > 1:
                std = float(p.detach().float().std()) or 1e-2
                p.copy_((torch.randn(p.shape, generator=gen) * std).to(p.dtype))
    return out


def random_init_similarities(source: Capture, suspect_model: Any, n: int = 8, *, seed: int = 1000,
                             size: int = PROBE_SIZE) -> list[float]:
    """``S`` between the source and ``n`` random re-initialisations of the suspect's architecture."""
    base = suspect_model.float().cpu().eval()
    return [compare_captures(source, capture_model(randomised_copy(base, seed + i), size)).similarity
            for i in range(n)]


def predictive_tail(x: float, null: np.ndarray, *, min_sd: float) -> dict[str, Any]:
    """Upper tail of ``x`` under the Student-t predictive distribution of a new draw from the Gaussian the
    ``null`` sample estimates, ``(x - mean) / (sd sqrt(1 + 1/m)) ~ t(m - 1)`` (``sd`` floored at ``min_sd``),
    and the distribution-free Chebyshev-Cantelli bound ``1 / (1 + t^2)`` at the same distance."""
    m = int(null.size)
    mean, sd = float(null.mean()), max(float(null.std(ddof=1)), min_sd)
    tstat = (x - mean) / (sd * np.sqrt(1.0 + 1.0 / m))
    bound = 1.0 if tstat <= 0 else 1.0 / (1.0 + tstat * tstat)
    return {"p_value": float(student_t.sf(tstat, df=m - 1)), "p_bound": float(bound), "t": float(tstat),
            "null_n": m, "mean": mean}


def lineage_p_value(similarity: float, null: list[float]) -> dict[str, Any]:
    """P-value of ``similarity`` under the null sample ``null`` (``S`` of pairs known to be independent).

    The statistic is Fisher-transformed (``z = atanh S``) and the null ``z`` treated as a Gaussian
    sample of unknown mean and variance, so a new independent pair's ``z`` follows a Student t
    predictive distribution, ``(z - mean) / (sd * sqrt(1 + 1/m)) ~ t(m - 1)``: the p-value is its
    upper tail. Because the null's tail need not be Gaussian (channel matching takes maxima), the
    distribution-free Chebyshev-Cantelli bound ``P(Z - mean >= k sd) <= 1 / (1 + k^2)`` (with the
    same predictive ``k``) is returned as ``p_bound``; a verdict of relatedness needs both below its
    level. ``p_empirical = (1 + #{null >= S}) / (m + 1)`` is reported beside them.

    Raises
    ------
    LineageError
        Fewer than 3 null samples.
    """
    z0 = np.arctanh(np.clip(np.asarray(null, dtype=np.float64), -0.999999, 0.999999))
    if z0.size < 3:
        raise LineageError(f"the null distribution needs at least 3 independent pairs, got {z0.size}")
    z = float(np.arctanh(np.clip(similarity, -0.999999, 0.999999)))
    tail = predictive_tail(z, z0, min_sd=1e-6)
    m = tail["null_n"]
    return {"p_value": tail["p_value"], "p_bound": tail["p_bound"], "t": tail["t"], "null_n": m,
            "null_mean": float(np.tanh(tail["mean"])), "null_max": float(np.max(null)),
            "p_empirical": float((1 + int((np.asarray(null) >= similarity).sum())) / (m + 1))}
