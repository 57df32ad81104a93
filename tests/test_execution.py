import math

import pytest

from srprint.errors import SrprintError
from srprint.execution import LocalExecutor, get_executor


def square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    if x == 4:
        raise SrprintError("four is refused")
    return x * x


def test_local_executor_inline_collects_errors_per_job() -> None:
    res = sorted(LocalExecutor(jobs=1).map(square_or_fail, [1, 2, 3, 4]), key=lambda r: r.index)
    assert [r.value for r in res[:2]] == [1, 4]
    assert res[2].error == "ValueError: three is bad" and res[2].traceback
    assert res[3].error == "four is refused"


def test_local_process_pool_runs_all_jobs() -> None:
    res = sorted(LocalExecutor(jobs=2).map(square_or_fail, [5, 6, 3]), key=lambda r: r.index)
    assert [r.value for r in res] == [25, 36, None] and not res[2].ok


def test_unknown_executor() -> None:
    with pytest.raises(SrprintError, match="unknown executor"):
        get_executor("slurm")


@pytest.mark.slow
def test_ray_executor_runs_jobs_on_a_local_ray_instance() -> None:
    ray = pytest.importorskip("ray")
    try:
        ex = get_executor("ray", jobs=1, num_cpus=1)
        # a library function: Ray workers cannot import this test module
        res = sorted(ex.map(math.sqrt, [4.0, -1.0]), key=lambda r: r.index)
        assert res[0].value == 2.0 and "math domain error" in (res[1].error or "")
    finally:
        ray.shutdown()
