"""Step caching: cold run vs unchanged re-run vs a re-run after one parameter changed.

    .venv/bin/python bench/cache.py

A 5-step graph (digits → split → scaler → random forest → train) whose training
step is heavy, run through the API on a real worker (Redis + PostgreSQL):
1. cold: cache bypassed, every step executes;
2. unchanged re-run: every step comes from the cache (goal ≤ 5 % of cold);
3. the forest's `random_state` changed: only the forest node and the training
   step re-run (goal ≤ 1.1 × the training step's own compute time).
"""

from __future__ import annotations

import time

from _harness import setup_django, start_workers, stop


def graph(random_state: int) -> dict:
    from pipelines.graph.builder import GraphBuilder

    return (
        GraphBuilder()
        .node("load", "dataset.builtin", name="digits")
        .node("split", "data.split", seed=0)
        .node("scale", "sklearn.preprocessing.StandardScaler")
        .node("forest", "sklearn.ensemble.RandomForestClassifier",
              n_estimators=1500, random_state=random_state)
        .node("train", "model.train")
        .edge("load.table", "split.table")
        .edge("scale.estimator", "forest.estimator")
        .edge("forest.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .build()
    )


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    client = APIClient()
    client.force_authenticate(user)
    pipeline = client.post("/api/pipelines/", {"name": "cache", "graph": graph(0)}, format="json").json()

    def run(**body) -> tuple[float, dict]:
        started = time.perf_counter()
        data = client.post(f"/api/pipelines/{pipeline['id']}/runs/", body, format="json").json()
        while data["status"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.005)
            data = client.get(f"/api/runs/{data['id']}/").json()
        assert data["status"] == "succeeded", data["error"]
        return time.perf_counter() - started, data

    workers = start_workers(1, concurrency=1)
    try:
        run(use_cache=False)  # warm the worker's imports
        cold, cold_run = run(use_cache=False)
        warm, warm_run = run()
        version = client.get(f"/api/pipelines/{pipeline['id']}/").json()["version"]
        client.patch(
            f"/api/pipelines/{pipeline['id']}/", {"version": version, "graph": graph(1)}, format="json"
        )
        changed, changed_run = run()
    finally:
        stop(workers)

    assert all(s["cache_hit"] for s in warm_run["steps"])
    executed = sorted(s["node_id"] for s in changed_run["steps"] if not s["cache_hit"])
    train_compute = next(s for s in changed_run["steps"] if s["node_id"] == "train")["summary"]["seconds"]
    print(f"cold run (cache bypassed):       {cold * 1000:8.1f} ms")
    print(f"unchanged re-run (all cached):   {warm * 1000:8.1f} ms   ratio to cold {warm / cold:.3f} (goal ≤ 0.05)")
    print(f"one parameter changed:           {changed * 1000:8.1f} ms   re-ran {executed}")
    print(f"  training step's own compute:   {train_compute * 1000:8.1f} ms   ratio {changed / train_compute:.3f} (goal ≤ 1.1)")


if __name__ == "__main__":
    main()
