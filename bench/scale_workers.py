"""Scale-out: 40 independent demo runs on 2 worker processes vs 1.

    .venv/bin/python bench/scale_workers.py [rounds]

The runs are the demo pipelines (breast cancer, wine, diabetes; no cache), all
started at once, as many users would. Each round measures the batch on one
worker process, then on two separate worker processes (two `celery worker`s of
one process each: two machines' worth), interleaved (1, 2, 1, 2 …) so the
machine's noise hits both alike; medians and their ratio are printed.
Goal: throughput on 2 processes ≥ 1.8 × that on 1.

Each batch also says where the time went, so that a ratio near 1 can be told
apart from a bottleneck in the product: the CPU seconds the workers' process
trees used, how busy the worker processes were (the summed execution time of
the steps per worker process and second of the batch: near 1 means each
process always had a step to run, so nothing upstream starved it), and the CPU
the whole machine spent meanwhile against what its cores could give (other
processes' load leaves the workers less). Linux only (``/proc``).

Each worker process stands for a machine of one core, so its BLAS/OpenMP threads are
1 in both cases (``WORKER_THREADS_PER_PROCESS=1``, which an operator may preset): a
worker cannot see the other worker on the same box and would otherwise take both
cores' worth of threads, which no pair of real one-core machines does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _harness import median, setup_django, start_workers, stop

RUNS = 40
os.environ.setdefault("WORKER_THREADS_PER_PROCESS", "1")  # the workers inherit it: see above
TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a worker's main process and its pool children)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            pass
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def _machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent not idle (all processes, all users)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK


def main(rounds: int = 3) -> None:
    setup_django()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from pipelines.demo import breast_cancer_graph, diabetes_graph, wine_graph
    from pipelines.models import Run

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    client = APIClient()
    client.force_authenticate(user)
    pipelines = [
        client.post("/api/pipelines/", {"name": name, "graph": graph()}, format="json").json()["id"]
        for name, graph in (("bc", breast_cancer_graph), ("wine", wine_graph), ("diabetes", diabetes_graph))
    ]

    def batch(workers) -> float:
        """Start RUNS runs at once; seconds until the last one is final (and where the time went)."""
        from django.db.models import F, Sum

        from pipelines.models import StepRun

        worker_pids = [pid for w in workers for pid in _tree(w.pid)]
        cpu_before, machine_before = _cpu_seconds(worker_pids), _machine_busy_seconds()
        started = time.perf_counter()
        ids = [
            client.post(f"/api/pipelines/{pipelines[i % len(pipelines)]}/runs/", {"use_cache": False},
                        format="json").json()["id"]
            for i in range(RUNS)
        ]
        posted = time.perf_counter() - started
        while Run.objects.filter(pk__in=ids).exclude(status__in=("succeeded", "failed", "cancelled")).exists():
            time.sleep(0.2)  # cheap: this process must not compete with the workers
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(worker_pids) - cpu_before
        machine = _machine_busy_seconds() - machine_before
        failed = Run.objects.filter(pk__in=ids).exclude(status="succeeded").count()
        assert not failed, f"{failed} runs did not succeed"
        executing = StepRun.objects.filter(run_id__in=ids, cache_hit=False).aggregate(
            s=Sum(F("finished_at") - F("started_at")))["s"].total_seconds()
        cores = os.cpu_count() or 1
        print(f"    {RUNS} runs posted in {posted:5.1f} s; workers' CPU {cpu:6.1f} s ({cpu / elapsed:4.2f} cores); steps executing {executing:6.1f} s "
              f"(busy {executing / elapsed / len(workers):4.2f} per worker process); machine CPU "
              f"{machine / elapsed:4.2f} of {cores} cores busy, {max(machine - cpu, 0) / elapsed:4.2f} by the rest "
              "(PostgreSQL, Redis, this script, other users)",
              flush=True)
        return elapsed

    times: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(rounds):
        for processes in (1, 2):
            workers = start_workers(processes, concurrency=1)
            try:
                if round_ == 0 and processes == 1:
                    batch(workers)  # warm-up: imports, the builtin datasets' first load
                seconds = batch(workers)
            finally:
                stop(workers)
            times[processes].append(seconds)
            print(f"round {round_ + 1}: {processes} worker process(es): {seconds:7.2f} s "
                  f"({RUNS / seconds:5.2f} runs/s)", flush=True)
    one, two = median(times[1]), median(times[2])
    print(f"{RUNS} independent demo runs, median of {rounds} interleaved rounds")
    print(f"1 worker process:   {one:7.2f} s  {RUNS / one:5.2f} runs/s")
    print(f"2 worker processes: {two:7.2f} s  {RUNS / two:5.2f} runs/s")
    ratios = [a / b for a, b in zip(times[1], times[2], strict=True)]
    print("per-round ratios 2 / 1: " + ", ".join(f"{r:.2f}x" for r in ratios))
    print(f"throughput 2 / 1: {one / two:.2f}x of the medians, {median(ratios):.2f}x median per round "
          "(goal ≥ 1.8x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
