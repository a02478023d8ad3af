"""``predict?explain=true`` against a plain prediction: p50 ratio measured in one run.

    .venv/bin/python bench/explain.py [--rounds 5] [--seconds 4] [--concurrency 4] [--no-wrk] [--trees 100]

The demo tree model: a RandomForestClassifier (100 trees, depth ≤ 8) on a
synthetic, seeded loans-like table (numeric features, a planted signal),
registered and deployed through the services. Two measurements, each
interleaved (plain, explain, plain, explain …) so noise hits both alike:

- in process: ``handler.predict_json`` on a one-row body, with and without
  ``explain``, 300 calls per run (prediction logging off for both), per-call
  wall time; medians of the runs' p50s.
- over HTTP: one uvicorn process (``pipelines.serving.asgi``, logging ON) pinned
  to CPU 0, ``wrk`` (Debian's /usr/bin/wrk) on CPU 1 (else the asyncio client of
  ``bench/serving.py``), the same body to ``/predict`` and ``/predict?explain=true``.

Goal: explain p50 / plain p50 ≤ 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DB", "mlops_bench_explain")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")  # flushed: never 0, the README's own

from _harness import ROOT, WRK, setup_django, wrk  # noqa: E402
from serving import CLIENT_CPU, free_port, load, start_server, stop_server  # noqa: E402

GOAL = 3.0


def loans(n: int = 20_000):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    table = pd.DataFrame({
        "income": rng.normal(50, 15, n), "debt_ratio": rng.uniform(0, 1, n), "age": rng.integers(18, 80, n),
        "credit_years": rng.integers(0, 40, n), "late_payments": rng.poisson(1.0, n),
        "loan_amount": rng.lognormal(9, 0.5, n), "accounts": rng.integers(1, 12, n), "group": rng.integers(0, 2, n),
    }).astype("float64")
    score = (table["income"] - 50) / 15 - 2 * table["debt_ratio"] - 0.5 * table["late_payments"] + 0.3 * table["group"]
    table["target"] = (score + rng.normal(0, 0.5, n) > -1).astype(int)
    return table


def deploy(trees: int) -> tuple[str, list[str], list[float]]:
    from django.contrib.auth import get_user_model
    from sklearn.ensemble import RandomForestClassifier

    from pipelines.models import (
        Pipeline,
        PipelineVersion,
        Run,
        RunStatus,
        StepRun,
        StepStatus,
        Workspace,
    )
    from pipelines.services.artifacts import artifact_store, artifacts_record
    from pipelines.services.deployments import deployment_deploy, deployment_key_create
    from pipelines.services.registry import model_register

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    workspace = Workspace.objects.get(personal_owner=user)
    table = loans()
    features = [c for c in table.columns if c != "target"]
    model = RandomForestClassifier(n_estimators=trees, max_depth=8, random_state=0, n_jobs=1).fit(
        table[features], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    pipeline = Pipeline.objects.create(workspace=workspace, name="loans rf", graph={"nodes": [], "edges": []},
                                       created_by=user)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
    run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                             status=RunStatus.SUCCEEDED, created_by=user, steps_total=2, steps_done=2)
    StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1", position=0,
                           status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1", position=1,
                           status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                           params={"target": "target"}, outputs={"model": model_ref.as_ref()})
    registered = model_register(user=user, name="loans", run=run, node_id="train")
    deployment, _ = deployment_deploy(user=user, name="loans", version=registered)
    _, key = deployment_key_create(user=user, deployment=deployment, name="bench")
    return key, features, [float(v) for v in table[features].iloc[0]]


def in_process(body: bytes, rounds: int, n: int = 300) -> dict[str, list[float]]:
    """Per round and mode, the p50 (ms) of ``predict_json`` wall time, interleaved."""
    from django.contrib.auth import get_user_model

    from pipelines.serving import handler

    user = get_user_model().objects.get(username="bench")
    served, model = handler.prepare("loans", None, user)
    logging_was, handler.LOG_PREDICTIONS = handler.LOG_PREDICTIONS, False
    out: dict[str, list[float]] = {"plain": [], "explain": []}
    try:
        for mode in out:  # warm-up: the explainer is built on the first explained call
            handler.predict_json(served, model, body, explain=mode == "explain")
        for _ in range(rounds):
            for mode in out:
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    status, _, _ = handler.predict_json(served, model, body, explain=mode == "explain")
                    times.append((time.perf_counter() - started) * 1000)
                    assert status == 200
                out[mode].append(statistics.median(times))
    finally:
        handler.LOG_PREDICTIONS = logging_was
    return out


def run_wrk(port: int, path: str, body: bytes, headers: dict, args) -> dict:
    return wrk(port, path, body, headers, seconds=args.seconds, connections=args.concurrency, cpu=CLIENT_CPU)


def run_asyncio(port: int, path: str, body: bytes, headers: dict, args) -> dict:
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        return asyncio.run(load(port, path, body, headers, seconds=args.seconds, warmup=0.5,
                                concurrency=args.concurrency))
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    setup_django()
    key, features, row = deploy(args.trees)
    body = json.dumps({"instances": [dict(zip(features, row, strict=True))]}).encode()
    print(f"RandomForestClassifier, {args.trees} trees, {len(features)} features, one-row requests\n")

    local = in_process(body, args.rounds)
    for mode, values in local.items():
        print(f"in process {mode:<7} p50 {statistics.median(values):6.3f} ms   "
              f"(runs: {', '.join(f'{v:.3f}' for v in values)})")
    ratio_local = statistics.median(local["explain"]) / statistics.median(local["plain"])
    print(f"in process explain p50 / plain p50   {ratio_local:5.2f} x   (goal ≤ {GOAL:.0f})   "
          f"{'OK' if ratio_local <= GOAL else 'MISSED'}\n")
    if args.no_http:
        return

    use_wrk = not args.no_wrk and Path(WRK).exists()
    measure = run_wrk if use_wrk else run_asyncio
    headers = {"Authorization": f"Bearer {key}"}
    paths = {"plain": "/api/deployments/loans/predict", "explain": "/api/deployments/loans/predict?explain=true"}
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    log = ROOT / "var" / "bench" / "explain-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = start_server(
        [sys.executable, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
        port, env, log, (paths["explain"], body, headers),
    )
    print(f"HTTP: {'wrk' if use_wrk else 'asyncio client'}, concurrency {args.concurrency}, "
          f"{args.seconds:.0f} s per run, {args.rounds} rounds interleaved")
    results: dict[str, list[dict]] = {m: [] for m in paths}
    try:
        for path in paths.values():
            measure(port, path, body, headers, argparse.Namespace(**{**vars(args), "seconds": 1.0}))  # warm-up
        for round_no in range(1, args.rounds + 1):
            for mode, path in paths.items():
                r = measure(port, path, body, headers, args)
                results[mode].append(r)
                print(f"round {round_no} {mode:<7} {r['rps']:>8.0f} req/s   p50 {r['p50']:>6.2f} ms   "
                      f"p99 {r['p99']:>6.2f} ms   ({r['errors']} errors)", flush=True)
    finally:
        stop_server(proc)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")} for m, rs in results.items()}
    for mode, m in med.items():
        print(f"median {mode:<7} {m['rps']:>8.0f} req/s   p50 {m['p50']:>6.2f} ms   p99 {m['p99']:>6.2f} ms")
    ratio = med["explain"]["p50"] / med["plain"]["p50"]
    print(f"HTTP explain p50 / plain p50   {ratio:5.2f} x   (goal ≤ {GOAL:.0f})   {'OK' if ratio <= GOAL else 'MISSED'}")


if __name__ == "__main__":
    main()
