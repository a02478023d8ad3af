"""Parallel branches: two equal heavy branches on 2 worker processes vs 1.

    .venv/bin/python bench/parallel.py

1. digits → split → two random forests trained side by side. With one worker
   process the branches run one after the other (the baseline); with two they
   should overlap. Goal: 2 processes ≤ 0.6 × the sequential time.
2. model.tune: a random forest's max_depth × 4 folds, each trial its own task.
   Goal: 2 worker processes ≥ 1.7 × faster than 1.
"""

from __future__ import annotations

import time

from _harness import median, setup_django, start_workers, stop


def graph(trees: int) -> dict:
    from pipelines.graph.builder import GraphBuilder

    builder = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="digits")
        .node("split", "data.split", seed=0)
        .edge("load.table", "split.table")
    )
    for branch in ("a", "b"):
        (
            builder.node(f"forest_{branch}", "sklearn.ensemble.RandomForestClassifier",
                         n_estimators=trees, random_state=0 if branch == "a" else 1)
            .node(f"train_{branch}", "model.train")
            .edge(f"forest_{branch}.estimator", f"train_{branch}.estimator")
            .edge("split.train", f"train_{branch}.table")
        )
    return builder.build()


def tune_graph() -> dict:
    from pipelines.graph.builder import GraphBuilder

    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="digits")
        .node("split", "data.split", seed=0)
        .node("forest", "sklearn.ensemble.RandomForestClassifier", n_estimators=150)
        .node("tune", "model.tune", parameters={"max_depth": [4, 8, 12, 16, 24, None]}, folds=4)
        .edge("load.table", "split.table")
        .edge("forest.estimator", "tune.estimator")
        .edge("split.train", "tune.table")
        .build()
    )


def main(repeats: int = 5, trees: int = 1500) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    client = APIClient()
    client.force_authenticate(user)
    pipeline = client.post("/api/pipelines/", {"name": "par", "graph": graph(trees)}, format="json").json()
    tuning = client.post("/api/pipelines/", {"name": "tune", "graph": tune_graph()}, format="json").json()

    from pipelines.models import Run

    def timed_run(pipeline=pipeline) -> float:
        started = time.perf_counter()
        run_id = client.post(
            f"/api/pipelines/{pipeline['id']}/runs/", {"use_cache": False}, format="json"
        ).json()["id"]
        # A cheap status query: this process must not compete with the two
        # workers for the machine's two cores.
        while (status := Run.objects.filter(pk=run_id).values_list("status", flat=True)[0]) not in (
            "succeeded", "failed", "cancelled"
        ):
            time.sleep(0.05)
        assert status == "succeeded", Run.objects.get(pk=run_id).error
        return time.perf_counter() - started

    results, tuned = {}, {}
    for processes in (1, 2):
        workers = start_workers(1, concurrency=processes)
        try:
            timed_run()  # warm-up
            results[processes] = median([timed_run() for _ in range(repeats)])
            tuned[processes] = median([timed_run(tuning) for _ in range(repeats)])
        finally:
            stop(workers)
    print(f"two equal branches, {trees} trees each, median of {repeats}")
    print(f"1 worker process (sequential): {results[1] * 1000:8.1f} ms")
    print(f"2 worker processes:            {results[2] * 1000:8.1f} ms")
    print(f"ratio 2 / 1: {results[2] / results[1]:.2f} (goal ≤ 0.6)")
    print("model.tune, 6 candidates × 4 folds = 24 trial tasks")
    print(f"1 worker process:  {tuned[1] * 1000:8.1f} ms")
    print(f"2 worker processes: {tuned[2] * 1000:8.1f} ms")
    print(f"speed-up 1 / 2: {tuned[1] / tuned[2]:.2f}x (goal ≥ 1.7x)")


if __name__ == "__main__":
    main()
