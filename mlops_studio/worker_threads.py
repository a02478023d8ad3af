"""How many BLAS and OpenMP threads each worker process may use.

NumPy's OpenBLAS (or MKL) and scikit-learn's OpenMP start one thread per core of the
machine in every process that loads them. A worker of N pool processes, or several
worker pods on one node, then runs N × cores such threads on the cores: they take
turns, spin while waiting for one another, and every step runs slower than it would
on fewer threads. Each pool process therefore gets its share of the cores instead:
``max(1, cores // processes)``, where cores respects the process's CPU affinity
(``taskset``, cpusets) and a cgroup CPU quota (a container's CPU limit).

An operator's own choice wins: ``WORKER_THREADS_PER_PROCESS``, else an
``OMP_NUM_THREADS`` already in the environment.
"""

from __future__ import annotations

import math
import os

THREADS_VARIABLE = "WORKER_THREADS_PER_PROCESS"
# Read by OpenMP, OpenBLAS and MKL as each loads: they reach the libraries a step loads
# later and the processes it starts (joblib, Dask, a subprocess).
LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_process(processes: int) -> tuple[int, str]:
    """(threads each of ``processes`` pool processes may use, where that number comes from).

    Raises ValueError for an operator's setting that is not a positive integer.
    """
    for variable in (THREADS_VARIABLE, "OMP_NUM_THREADS"):
        text = os.environ.get(variable, "").strip()
        if text:
            # OMP_NUM_THREADS may list a count per nesting level ("4,1"): the first is the pool's.
            first = text.split(",", 1)[0].strip()
            if not first.isdigit() or int(first) < 1:
                raise ValueError(f"{variable}={text!r} is not a positive number of threads")
            return int(first), variable
    cores = cores_available()
    return max(1, cores // processes), f"{cores} cores / {processes} pool processes"


def cores_available() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU
    quota (a container's CPU limit, rounded up)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as limit:
            quota, period = limit.read().split()
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, math.ceil(int(quota) / int(period))))


def threads_limit(threads: int, *, override: bool) -> None:
    """Limit this process's BLAS and OpenMP libraries to ``threads`` each, now and for the
    libraries and processes started later. An environment variable the operator set
    stays unless ``override`` (``WORKER_THREADS_PER_PROCESS`` was given)."""
    from threadpoolctl import threadpool_limits

    for variable in LIBRARY_VARIABLES:
        if override or not os.environ.get(variable, "").strip():
            os.environ[variable] = str(threads)
    threadpool_limits(limits=threads)


def threads_in_use() -> str:
    """What the loaded BLAS/OpenMP libraries of this process will use, e.g. ``openblas=1 openmp=1``."""
    from threadpoolctl import threadpool_info

    return " ".join(f"{lib['internal_api']}={lib['num_threads']}" for lib in threadpool_info()) or "none loaded"
