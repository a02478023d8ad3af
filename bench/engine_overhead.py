"""Fixed overhead of the engine: API + Redis + worker vs the same code in-process.

    make bench          # or: .venv/bin/python bench/engine_overhead.py [runs]

Runs the demo breast_cancer pipeline (6 steps) N times through the REST API
with the cache bypassed, executed by a real Celery worker on Redis and
PostgreSQL, and the same blocks called in-process on the same artifacts.
Overhead per run = (submit → succeeded) − (sum of the steps' own compute time
as the worker measured it). Goals: median overhead ≤ 165 ms (it was 165 ms
before the scheduler moved out of the database), and the overhead *per node*
of a 500-node chain ≤ 1.5 × that of the 6-node demo — advancing a run must
cost the same whatever the size of the graph.
"""

from __future__ import annotations

import statistics
import sys
import time

from _harness import median, setup_django, start_workers, stop

GOAL_MS = 165.0
CHAIN_NODES = 500
CHAIN_GOAL = 1.5


def chain_graph(n: int) -> dict:
    """n StandardScaler blocks in a row: each step composes one more estimator step."""
    from pipelines.graph.builder import GraphBuilder

    graph = GraphBuilder()
    for i in range(n):
        graph.node(f"s{i}", "sklearn.preprocessing.StandardScaler")
        if i:
            graph.edge(f"s{i - 1}.estimator", f"s{i}.estimator")
    return graph.build()


def run_through_api(client, pipeline_id: int) -> tuple[float, float]:
    """(submit → succeeded, the steps' own compute) of one run with the cache bypassed."""
    started = time.perf_counter()
    run = client.post(f"/api/pipelines/{pipeline_id}/runs/", {"use_cache": False}, format="json").json()
    while run["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.005)
        run = client.get(f"/api/runs/{run['id']}/").json()
    elapsed = time.perf_counter() - started
    assert run["status"] == "succeeded", run["error"]
    return elapsed, sum(s["summary"].get("seconds", 0) for s in run["steps"])


def main(runs: int = 15) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from pipelines.blocks import catalogue
    from pipelines.demo import breast_cancer_graph
    from pipelines.execution.executor import StepExecutor
    from pipelines.graph import compile_plan, parse_graph
    from pipelines.services.artifacts import artifact_store

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    client = APIClient()
    client.force_authenticate(user)
    pipeline = client.post(
        "/api/pipelines/", {"name": "bench", "graph": breast_cancer_graph()}, format="json"
    ).json()

    # In-process baseline: the same blocks on the same artifact store, sequentially.
    plan = compile_plan(parse_graph(breast_cancer_graph()), catalogue())
    executor = StepExecutor(artifact_store())
    inprocess = []
    for _ in range(runs):
        started = time.perf_counter()
        outputs: dict[str, dict] = {}
        for step in plan.steps:
            refs = {port: outputs[src][src_port] for port, (src, src_port) in step.inputs.items()}
            outcome = executor.execute(catalogue().get(step.block_key), step.params, refs)
            assert outcome.ok, outcome.error
            outputs[step.node_id] = {p: a.as_ref() for p, a in outcome.outputs.items()}
        inprocess.append(time.perf_counter() - started)

    chain = client.post(
        "/api/pipelines/", {"name": "chain", "graph": chain_graph(CHAIN_NODES)}, format="json"
    ).json()
    workers = start_workers(1, concurrency=1)
    try:
        end_to_end, overheads, compute = [], [], []
        for index in range(runs + 2):
            elapsed, step_seconds = run_through_api(client, pipeline["id"])
            if index < 2:  # warm-up: imports and connections in the worker
                continue
            end_to_end.append(elapsed)
            compute.append(step_seconds)
            overheads.append(elapsed - step_seconds)
        chain_overheads = []
        for _ in range(3):
            elapsed, step_seconds = run_through_api(client, chain["id"])
            chain_overheads.append(elapsed - step_seconds)
    finally:
        stop(workers)

    n_steps = len(plan.steps)
    print(f"breast_cancer pipeline, {n_steps} steps, {runs} runs each, cache bypassed")
    print(f"in-process (same blocks, sequential): median {median(inprocess) * 1000:7.1f} ms")
    print(f"API + Redis + worker, submit→done:     median {median(end_to_end) * 1000:7.1f} ms")
    print(f"  of which step compute (worker):      median {median(compute) * 1000:7.1f} ms")
    print(
        f"fixed overhead: median {median(overheads) * 1000:.1f} ms "
        f"(p90 {statistics.quantiles(overheads, n=10)[-1] * 1000:.1f} ms), "
        f"{median(overheads) * 1000 / n_steps:.1f} ms per step"
    )
    print(f"ratio end-to-end / in-process: {median(end_to_end) / median(inprocess):.2f}x")
    print(f"ratio overhead / goal ({GOAL_MS:.0f} ms): {median(overheads) * 1000 / GOAL_MS:.2f}")
    per_node_demo = median(overheads) / n_steps
    per_node_chain = median(chain_overheads) / CHAIN_NODES
    print(
        f"{CHAIN_NODES}-node chain: overhead median {median(chain_overheads):.2f} s, "
        f"{per_node_chain * 1000:.1f} ms per node vs {per_node_demo * 1000:.1f} ms per node for the demo"
    )
    print(f"ratio per-node overhead chain / demo: {per_node_chain / per_node_demo:.2f}x (goal ≤ {CHAIN_GOAL}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
