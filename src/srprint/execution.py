"""One executor interface for fanning independent jobs out: a local process pool or Ray.

``executor.map(fn, jobs)`` yields ``JobResult`` objects as jobs finish; a job that raises is
reported (with its error) instead of stopping the others. ``fn`` and the jobs must be picklable
(module-level functions and plain data).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Protocol

from .errors import SrprintError


@dataclass
class JobResult:
    index: int
    job: Any
    value: Any = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(fn: Callable[[Any], Any], index: int, job: Any, threads: int | None) -> JobResult:
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        return JobResult(index, job, fn(job))
    except SrprintError as exc:
        return JobResult(index, job, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing job must not kill the others
        return JobResult(index, job, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


class Executor(Protocol):
    name: str

    def map(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[JobResult]: ...


class LocalExecutor:
    """Runs jobs in-process (``jobs=1``) or in a spawn-context process pool.

    Each worker gets ``cpu_count // jobs`` torch threads: on small machines one multi-threaded job
    is as fast as several single-threaded ones, so the default is ``jobs=1``.
    """

    name = "local"

    def __init__(self, jobs: int = 1, threads: int | None = None) -> None:
        self.jobs = max(1, jobs)
        self.threads = threads or max(1, (os.cpu_count() or 1) // self.jobs)

    def map(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[JobResult]:
        if self.jobs == 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                yield _call(fn, i, job, None)
            return
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("spawn")) as pool:
            pending: set[Future[JobResult]] = {
                pool.submit(_call, fn, i, job, self.threads) for i, job in enumerate(jobs)
            }
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()


class RayExecutor:
    """Runs each job as a Ray task (``ray.init(address=...)``; a local instance if none is given)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, cpus_per_job: float = 1,
                 gpus_per_job: float = 0) -> None:
        try:
            import ray
        except ImportError as exc:
            raise SrprintError("the ray executor needs Ray: pip install 'srprint[ray]'") from exc
        self.ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)
        self.cpus_per_job, self.gpus_per_job = cpus_per_job, gpus_per_job

    def map(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[JobResult]:
        ray = self.ray
        remote = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job)(_call)
        threads = max(1, int(self.cpus_per_job))
        refs = {remote.remote(fn, i, job, threads): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - worker crash: report, continue
                    i = refs[ref]
                    yield JobResult(i, jobs[i], error=f"ray task failed: {exc}")


_EXECUTORS: dict[str, Callable[..., Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def get_executor(name: str = "local", jobs: int = 1, **kwargs: Any) -> Executor:
    """``local`` (process pool of ``jobs`` workers) or ``ray`` (``address=`` for a cluster).

    Raises
    ------
    SrprintError
        On: "unknown executor …; known: …".
    """
    if name == "local":
        return LocalExecutor(jobs=jobs, **kwargs)
    if name == "ray":
        return RayExecutor(num_cpus=kwargs.pop("num_cpus", None) or (jobs if jobs > 1 else None), **kwargs)
    raise SrprintError(f"unknown executor {name!r}; known: {', '.join(_EXECUTORS)}")
