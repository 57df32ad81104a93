"""The demo zoo the gallery and the notebook run on, trained once and cached under ``$SRPRINT_HOME``.

``srprint demo`` trains the same five models into the same folder (``$SRPRINT_HOME/zoos/demo``), so
after ``make demo`` the docs train nothing; on a fresh machine the first build trains them (about
2 min on 2 cores) and later builds reuse them.
"""

from __future__ import annotations

from pathlib import Path


def demo_zoo() -> Path:
    """The demo zoo's folder, trained (resumably) if it is not complete.

    Returns
    -------
    Path
        ``$SRPRINT_HOME/zoos/demo``.

    Raises
    ------
    SrprintError
        If a model fails to train.
    """
    from srprint.config import srprint_home
    from srprint.errors import SrprintError
    from srprint.study.run import retire_stale
    from srprint.zoo.api import preset_train_config, train_specs
    from srprint.zoo.specs import demo_grid

    root = srprint_home() / "zoos" / "demo"
    cfg = preset_train_config("demo")
    retire_stale(root, cfg.key())  # as `srprint demo` does: its recipe marker, so the demo study reuses the zoo
    results = train_specs(demo_grid().specs, root, cfg, device="cpu")
    failed = [r for r in results if not r.ok]
    if failed:
        raise SrprintError(f"demo zoo: {failed[0].error}")
    return root


def shared_checkpoint(name: str) -> Path | None:
    """A published checkpoint of the shared data (``$SRPRINT_SHARED/data/pretrained``), if present.

    Parameters
    ----------
    name : str
        The file name.

    Returns
    -------
    Path or None
        The file, or None where the shared data is absent (CI has it).
    """
    from srprint.config import shared_data_dir

    p = shared_data_dir() / "pretrained" / name
    return p if p.is_file() else None
