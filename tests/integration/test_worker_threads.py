"""BLAS/OpenMP threads per pool process: a real ``celery worker`` (prefork) shares the
machine's cores among its pool processes, and an operator's setting wins. The workers
started here listen on a queue of their own, so they take none of the other tests' work.
"""

from __future__ import annotations

import re
import time

import pytest

from mlops_studio.worker_threads import cores_available
from tests.conftest import start_worker, stop_worker

pytestmark = pytest.mark.integration

# The operator's settings, cleared unless a test gives one (an empty value counts as unset).
UNSET = {"WORKER_THREADS_PER_PROCESS": "", "OMP_NUM_THREADS": "", "OPENBLAS_NUM_THREADS": "",
         "MKL_NUM_THREADS": ""}


def _limits(tmp_path, artifact_root, env: dict[str, str]) -> tuple[str, list[dict[str, int]]]:
    """(the main process's line, each pool process's libraries → threads) of a worker of 2 processes."""
    worker = start_worker(tmp_path, artifact_root, name="threads", concurrency=2, env={**UNSET, **env},
                          queues="threads-probe")
    try:
        deadline = time.monotonic() + 30
        while len(children := re.findall(r"pool process \d+: BLAS/OpenMP threads (.*)", worker.log_path.read_text())) < 2:
            assert time.monotonic() < deadline, worker.log_path.read_text()
            time.sleep(0.2)
        main = re.search(r"BLAS/OpenMP threads per pool process: .*", worker.log_path.read_text()).group(0)
    finally:
        stop_worker(worker)
    return main, [{lib: int(n) for lib, n in re.findall(r"(\w+)=(\d+)", line)} for line in children]


def test_a_worker_of_two_processes_gives_each_its_share_of_the_cores(tmp_path, artifact_root):
    cores = cores_available()

    main, children = _limits(tmp_path, artifact_root, {})

    share = max(1, cores // 2)
    assert main == f"BLAS/OpenMP threads per pool process: {share} ({cores} cores / 2 pool processes)"
    # NumPy's OpenBLAS is loaded before the pool forks; each process sees the limit.
    assert all(libraries and set(libraries.values()) == {share} for libraries in children), children


@pytest.mark.parametrize("variable", ["WORKER_THREADS_PER_PROCESS", "OMP_NUM_THREADS"])
def test_an_operators_thread_count_wins(tmp_path, artifact_root, variable):
    wanted = max(1, cores_available() // 2) + 2  # never the share a worker would choose

    main, children = _limits(tmp_path, artifact_root, {variable: str(wanted)})

    assert main == f"BLAS/OpenMP threads per pool process: {wanted} ({variable})"
    assert all(libraries and set(libraries.values()) == {wanted} for libraries in children), children


def test_a_worker_with_a_bad_thread_count_refuses_to_start(tmp_path, artifact_root):
    with pytest.raises(RuntimeError, match="WORKER_THREADS_PER_PROCESS='many' is not a positive number"):
        start_worker(tmp_path, artifact_root, name="threads", concurrency=2,
                     env={**UNSET, "WORKER_THREADS_PER_PROCESS": "many"}, queues="threads-probe")


def test_a_pool_process_starts_with_scikit_learn_already_imported(tmp_path, artifact_root):
    _, children = _limits(tmp_path, artifact_root, {})

    # OpenMP is scikit-learn's (its compiled modules link it); no step has run yet.
    assert all("openmp" in libraries for libraries in children), children
