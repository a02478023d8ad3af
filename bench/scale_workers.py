"""Scale-out: 40 independent demo runs on 2 worker processes vs 1.

    .venv/bin/python bench/scale_workers.py [rounds]

The runs are the demo pipelines (breast cancer, wine, diabetes; no cache), all
started at once, as many users would. Each round measures the batch on one
worker process, then on two separate worker processes (two `celery worker`s of
one process each: two machines' worth), interleaved (1, 2, 1, 2 …) so the
machine's noise hits both alike; medians and their ratio are printed.
Goal: throughput on 2 processes ≥ 1.8 × that on 1.
"""

from __future__ import annotations

import sys
import time

from _harness import median, setup_django, start_workers, stop

RUNS = 40


def main(rounds: int = 3) -> None:
    setup_django()
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

    def batch() -> float:
        """Start RUNS runs at once; seconds until the last one is final."""
        started = time.perf_counter()
        ids = [
            client.post(f"/api/pipelines/{pipelines[i % len(pipelines)]}/runs/", {"use_cache": False},
                        format="json").json()["id"]
            for i in range(RUNS)
        ]
        while Run.objects.filter(pk__in=ids).exclude(status__in=("succeeded", "failed", "cancelled")).exists():
            time.sleep(0.2)  # cheap: this process must not compete with the workers
        elapsed = time.perf_counter() - started
        failed = Run.objects.filter(pk__in=ids).exclude(status="succeeded").count()
        assert not failed, f"{failed} runs did not succeed"
        return elapsed

    times: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(rounds):
        for processes in (1, 2):
            workers = start_workers(processes, concurrency=1)
            try:
                if round_ == 0 and processes == 1:
                    batch()  # warm-up: imports, the builtin datasets' first load
                seconds = batch()
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
