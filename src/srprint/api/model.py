"""The model descriptor (:class:`Model`) and the functions that give one: ``load_model``, ``load_zoo``,
``import_checkpoint``.

:class:`Model` owns the calling contract of one network, as spandrel's ``ModelDescriptor`` does:
architecture, scale, task, input range, provenance and weights, and ``__call__`` on an image or a
tensor. It wraps the zoo's record (:class:`srprint.zoo.entry.ZooEntry`) and the rebuilt network
(:class:`srprint.zoo.model.SRModel`); every public function that takes a model accepts a
:class:`Model`, an entry folder, or an id with ``zoo=``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import resolves_device
from ..errors import SrprintError
from .results import HIDDEN, Result

if TYPE_CHECKING:
    from ..zoo.entry import ZooEntry
    from ..zoo.model import SRModel



@dataclass(frozen=True, eq=False)
class Model(Result):
    """One super-resolution or restoration network and its calling contract.

    Call it on an ``(H, W, 3)`` image (float in ``[0, 1]`` or ``uint8``) to get the ``(sH, sW, 3)``
    float32 output, or on a ``(B, 3, H, W)`` / ``(3, H, W)`` tensor in ``[0, 1]`` to get a tensor.
    The network is rebuilt from its weights on first use, on :attr:`device`.

    Attributes
    ----------
    id : str
        The zoo id (e.g. ``EDSR-skimage-x2-L1-s1``).
    architecture : str
        The architecture name (``EDSR``, ``RCAN``, a published family such as ``SRCNN``).
    scale : int
        The upscaling factor (1 for restoration models).
    task : str
        ``sr``, ``denoise``, ...
    input_range : tuple of float
        The value range the network itself expects (the descriptor maps ``[0, 1]`` to it).
    provenance : dict
        ``source`` (``trained`` or ``imported``), the training spec or import record, and the labels.
    weights : Path or None
        The ``model.safetensors`` file.
    device : str
        Where the network runs (``cpu`` or ``cuda[:N]``).
    """

    id: str
    architecture: str
    scale: int
    task: str
    input_range: tuple[float, float]
    provenance: dict[str, Any]
    weights: Path | None
    device: str
    entry: ZooEntry = field(repr=False, metadata=HIDDEN)
    _network: dict[str, Any] = field(default_factory=dict, repr=False, metadata=HIDDEN)

    @classmethod
    def from_entry(cls, entry: ZooEntry, *, device: str = "cpu") -> Model:
        """The descriptor of a zoo record (the network is not loaded yet).

        Parameters
        ----------
        entry : ZooEntry
            The zoo record.
        device : str
            A resolved device (``cpu`` or ``cuda[:N]``).

        Returns
        -------
        Model
            The descriptor.
        """
        prov = {"source": entry.source, "spec": entry.spec, "imported": entry.imported, "labels": entry.labels,
                "status": entry.status}
        weights = entry.weights_path if entry.path is not None else None
        return cls(entry.id, entry.arch, int(entry.scale), entry.task, tuple(entry.input_range),  # type: ignore[arg-type]
                   prov, weights, device, entry)

    @property
    def network(self) -> SRModel:
        """The rebuilt network (an ``nn.Module`` taking ``(B, 3, H, W)`` in ``[0, 1]``), loaded once."""
        if "net" not in self._network:
            from ..zoo.model import load_model as _load

            self._network["net"] = _load(self.entry, device=self.device)
        return self._network["net"]

    def to(self, device: str) -> Model:
        """The same model on another device.

        Parameters
        ----------
        device : str
            ``auto``, ``cpu`` or ``cuda[:N]``.

        Returns
        -------
        Model
            A new descriptor (its network is loaded on first use).
        """
        return _moved(self, device=device)

    def __call__(self, image: Any) -> Any:
        """Run the network on an image (NumPy, ``(H, W, 3)``) or a tensor (``(B, 3, H, W)`` or ``(3, H, W)``).

        Parameters
        ----------
        image : ndarray or torch.Tensor
            Values in ``[0, 1]`` (a ``uint8`` array is divided by 255).

        Returns
        -------
        ndarray or torch.Tensor
            The output, clamped to ``[0, 1]``: float32 ``(sH, sW, 3)`` for an array, a tensor of the
            input's rank otherwise.
        """
        import torch

        if isinstance(image, torch.Tensor):
            x = image[None] if image.ndim == 3 else image
            y = self.network.infer(x.float().to(self.device))
            return y[0] if image.ndim == 3 else y
        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise SrprintError(f"{self.id}: expected an (H, W, 3) image, got shape {arr.shape}")
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        return self.network.run_image(arr.astype(np.float32), device=self.device)

    def __repr__(self) -> str:
        return f"Model({self.id!r}, architecture={self.architecture!r}, scale={self.scale}, task={self.task!r})"


@resolves_device
def _moved(model: Model, *, device: str) -> Model:
    return dataclasses.replace(model, device=device, _network={})


@dataclass(frozen=True)
class ModelZoo(Result):
    """A zoo folder and the descriptors of its models (their networks load on first use).

    Attributes
    ----------
    root : Path
        The zoo folder.
    models : tuple of Model
        One descriptor per complete entry, sorted by id.
    """

    root: Path
    models: tuple[Model, ...]

    @property
    def ids(self) -> list[str]:
        """The model ids, sorted."""
        return [m.id for m in self.models]

    def __getitem__(self, model_id: str) -> Model:
        for m in self.models:
            if m.id == model_id:
                return m
        raise KeyError(f"no model {model_id!r} in {self.root}; known: {', '.join(self.ids)}")

    def __len__(self) -> int:
        return len(self.models)

    def to_dict(self) -> dict[str, Any]:
        """The zoo folder and one row per model.

        Returns
        -------
        dict
            ``root`` and ``models`` (each model's ``to_dict``).
        """
        return {"root": str(self.root), "models": [m.to_dict() for m in self.models]}


def entry_of(model: Any, zoo: Any = None) -> ZooEntry:
    """The zoo record of a model given as a :class:`Model`, a ``ZooEntry``, an entry folder or an id.

    Parameters
    ----------
    model : Model, ZooEntry, str or Path
        The model.
    zoo : ModelZoo, str or Path, optional
        The zoo an id is looked up in.

    Returns
    -------
    ZooEntry
        The record.

    Raises
    ------
    SrprintError
        If ``model`` is neither an entry folder nor an id of ``zoo``.
    """
    from ..cli_common import resolve_model_arg
    from ..zoo.entry import ZooEntry

    if isinstance(model, Model):
        return model.entry
    if isinstance(model, ZooEntry):
        return model
    root = zoo.root if isinstance(zoo, ModelZoo) else (Path(zoo) if zoo is not None else None)
    return ZooEntry.load(resolve_model_arg(str(model), root))


def zoo_roots(zoo: Any) -> list[Path]:
    """The folders of ``zoo``: one zoo (a :class:`ModelZoo` or a folder) or a sequence of them.

    Parameters
    ----------
    zoo : ModelZoo, str, Path or sequence of them
        The zoo(s).

    Returns
    -------
    list of Path
        The zoo folders.
    """
    items = zoo if isinstance(zoo, Sequence) and not isinstance(zoo, str) else [zoo]
    return [z.root if isinstance(z, ModelZoo) else Path(z) for z in items]


@resolves_device
def load_zoo(path: str | Path, *, strict: bool = False, device: str = "auto") -> ModelZoo:
    """Open a zoo folder: the descriptors of every complete model in it.

    Parameters
    ----------
    path : str or Path
        The zoo folder (one sub-folder per model, each with ``model.json`` and ``model.safetensors``).
    strict : bool
        Raise on an unreadable entry instead of skipping it with a warning.
    device : str
        Where the models will run: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    ModelZoo
        The folder and its models (networks are loaded on first use).

    Raises
    ------
    SrprintError
        If ``path`` is not a folder, or (``strict``) an entry is unreadable.

    Examples
    --------
    >>> import srprint
    >>> zoo = srprint.load_zoo(demo_zoo)  # doctest: +SKIP
    >>> zoo.ids[:2]  # doctest: +SKIP
    ['EDSR-skimage-x2-L1-s1', 'EDSR-skimage-x2-L1-s2']
    """
    from ..zoo.entry import Zoo

    root = Path(path)
    if not root.is_dir():
        raise SrprintError(f"zoo folder not found: {root}")
    entries = sorted(Zoo(root).entries(strict=strict), key=lambda e: e.id)
    return ModelZoo(root, tuple(Model.from_entry(e, device=device) for e in entries))


@resolves_device
def load_model(model: str | Path | Model | ZooEntry, *, zoo: str | Path | ModelZoo | None = None,
               device: str = "auto") -> Model:
    """Load one model: its record and its network, on ``device``.

    Parameters
    ----------
    model : str, Path, Model or ZooEntry
        An entry folder, or a model id with ``zoo``.
    zoo : str, Path or ModelZoo, optional
        The zoo an id is looked up in.
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Model
        The descriptor, with its network loaded (so a bad checkpoint fails here).

    Raises
    ------
    SrprintError
        If the model is not found.
    CheckpointError
        If its weights are missing, corrupt, or do not fit its architecture.

    Examples
    --------
    >>> import numpy as np, srprint
    >>> m = srprint.load_model("EDSR-skimage-x2-L1-s1", zoo=demo_zoo, device="cpu")  # doctest: +SKIP
    >>> m(np.zeros((8, 8, 3), np.float32)).shape  # doctest: +SKIP
    (16, 16, 3)
    """
    m = Model.from_entry(entry_of(model, zoo), device=device)
    _ = m.network
    return m


@resolves_device
def import_checkpoint(path: str | Path, *, zoo: str | Path | ModelZoo, name: str | None = None,
                      arch: str | None = None, scale: int | None = None, task: str | None = None,
                      replace: bool = False, allow_pickle: bool = False, device: str = "auto") -> Model:
    """Import a third-party checkpoint into a zoo (architecture detected from the weights).

    Parameters
    ----------
    path : str or Path
        The checkpoint (``.pth``, ``.pt``, ``.safetensors``, or a format with a registered reader).
    zoo : str, Path or ModelZoo
        The zoo folder to write the entry into (created if missing).
    name : str, optional
        The entry name (default: the file stem); the id is ``{name}-pretrained``.
    arch : str, optional
        The expected architecture: the import fails if detection finds another one.
    scale : int, optional
        The expected scale (required to pick one scale of a multi-scale checkpoint).
    task : str, optional
        ``sr`` or ``denoise`` (default: detected).
    replace : bool
        Overwrite an entry of the same id.
    allow_pickle : bool
        Allow full unpickling, which runs code from the file. Off by default: only plain tensors load.
    device : str
        Where the returned model will run.

    Returns
    -------
    Model
        The new entry's descriptor.

    Raises
    ------
    CheckpointError
        If the file is unreadable, holds no state dict, or no known architecture matches it.
    SrprintError
        If an entry of that id exists and ``replace`` is false.

    Examples
    --------
    >>> m = srprint.import_checkpoint("SRCNN_x2.pth", zoo="my_zoo")  # doctest: +SKIP
    >>> m.architecture  # doctest: +SKIP
    'SRCNN'
    """
    from ..zoo.imports.core import import_checkpoint as _import

    root = zoo.root if isinstance(zoo, ModelZoo) else Path(zoo)
    entry = _import(path, root, name, arch=arch, scale=scale, task=task, replace=replace, allow_pickle=allow_pickle)
    return Model.from_entry(entry, device=device)
