"""Rollout overhead: shadow and canary against plain serving, ratios measured in one run.

    .venv/bin/python bench/rollout.py [--rounds 5] [--seconds 4] [--concurrency 8] [--no-wrk]

Two versions of one model (StandardScaler + LogisticRegression on breast_cancer,
different C), registered and promoted (v1 ``champion``, v2 ``challenger``); one
deployment follows ``champion``. One uvicorn process (``pipelines.serving.asgi``,
prediction logging ON) pinned to CPU 0 serves it throughout; the load generator
runs on CPU 1: ``wrk`` (Debian's /usr/bin/wrk) when present, else the asyncio
client of ``bench/serving.py``. Between runs only the deployment's traffic
changes (through ``services.rollout.traffic_set``; the serving stamp tells the
server), interleaved plain, shadow, canary, plain, shadow, canary … so noise
hits every mode alike. Prints every run and the medians, then:

- shadow p99 / plain p99   (goal ≤ 1.1): every request mirrored to v2, predicted and
  recorded by a Celery worker (pinned to CPU 1 with the load generator);
- canary p50 / plain p50   (goal ≤ 1.05): 90/10 split, hashed on X-Request-ID
  (absent here, so a random id per request).
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

os.environ.setdefault("BENCH_DB", "mlops_bench_rollout")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")

from _harness import ROOT, WRK, setup_django, start_workers, stop, wrk  # noqa: E402
from serving import CLIENT_CPU, SERVER_CPU, free_port, load, start_server, stop_server  # noqa: E402

MODES = {
    "plain": {},
    "shadow": {"shadow": "challenger"},
    "canary": {"split": {"champion": 90, "challenger": 10}},
}


def deploy() -> tuple[str, list[float]]:
    """Two registered versions (stored as a run's outputs), aliases, a following deployment; (key, row)."""
    from django.contrib.auth import get_user_model
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

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
    from pipelines.services.deployments import deployment_key_create
    from pipelines.services.promotion import deployment_follow, model_promote
    from pipelines.services.registry import model_register

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    workspace = Workspace.objects.get(personal_owner=user)
    data = load_breast_cancer(as_frame=True).frame
    features = [c for c in data.columns if c != "target"]
    store = artifact_store()
    table_ref = store.put_table(data)
    for c in (1.0, 0.1):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000)).fit(data[features],
                                                                                             data["target"])
        model_ref = store.put_object(model)
        artifacts_record([table_ref, model_ref])
        pipeline = Pipeline.objects.create(workspace=workspace, name=f"bc C={c}", graph={"nodes": [], "edges": []},
                                           created_by=user)
        version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
        run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                                 status=RunStatus.SUCCEEDED, created_by=user, steps_total=2, steps_done=2)
        StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1",
                               position=0, status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
        StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1",
                               position=1, status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                               params={"target": "target"}, outputs={"model": model_ref.as_ref()})
        registered = model_register(user=user, name="bc", run=run, node_id="train").registered_model
    model_promote(user=user, registered_model=registered, number=1, alias="champion")
    model_promote(user=user, registered_model=registered, number=2, alias="challenger")
    deployment, _ = deployment_follow(user=user, name="bc", registered_model=registered, alias="champion")
    _, key = deployment_key_create(user=user, deployment=deployment, name="bench")
    row = [float(data[features].iloc[0][c]) for c in features]
    return key, row


def set_mode(mode: str) -> None:
    from pipelines.models import Deployment
    from pipelines.services.rollout import traffic_set

    traffic_set(user=None, deployment=Deployment.objects.get(name="bc"), body=MODES[mode])
    time.sleep(1.0)  # every serving process re-reads the stamp within SERVING_STAMP_TTL


def cpu_per_request(body: bytes, rounds: int, n: int = 2000) -> dict[str, list[float]]:
    """µs of CPU (process time) per request in each mode, in this process, interleaved:
    ``handler.predict_json`` on the deployment as each mode resolves it (the shadow's
    batches sent to the broker included). Prediction logging is off here for every
    mode alike: this measures what the modes add, free of the HTTP run's noise."""
    from django.contrib.auth import get_user_model

    from pipelines.models import Deployment
    from pipelines.services.rollout import traffic_set
    from pipelines.serving import handler, shadow, state

    user = get_user_model().objects.get(username="bench")
    served = {}
    for mode, traffic in MODES.items():
        traffic_set(user=None, deployment=Deployment.objects.get(name="bc"), body=traffic)
        state.caches_clear()
        served[mode], model = handler.prepare("bc", None, user)
    traffic_set(user=None, deployment=Deployment.objects.get(name="bc"), body={})
    logging_was, handler.LOG_PREDICTIONS = handler.LOG_PREDICTIONS, False
    start_was, shadow._start = shadow._start, lambda: None  # flushed below, in this thread
    out: dict[str, list[float]] = {m: [] for m in MODES}
    try:
        for _ in range(rounds):
            for mode in MODES:
                started = time.process_time()  # this process's CPU: other load on the host does not count
                for _ in range(n):
                    handler.predict_json(served[mode], model, body)
                shadow.shadow_flush()
                out[mode].append((time.process_time() - started) / n * 1e6)
    finally:
        handler.LOG_PREDICTIONS, shadow._start = logging_was, start_was
    return out


def run_wrk(port: int, body: bytes, headers: dict, args) -> dict:
    return wrk(port, "/api/deployments/bc/predict", body, headers, seconds=args.seconds,
               connections=args.concurrency, cpu=CLIENT_CPU)


def run_asyncio(port: int, body: bytes, headers: dict, args) -> dict:
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        return asyncio.run(load(port, "/api/deployments/bc/predict", body, headers, seconds=args.seconds,
                                warmup=0.5, concurrency=args.concurrency))
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args()
    setup_django()
    key, row = deploy()
    use_wrk = not args.no_wrk and Path(WRK).exists()
    measure = run_wrk if use_wrk else run_asyncio
    body = json.dumps({"instances": [row]}).encode()
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    log = ROOT / "var" / "bench" / "rollout-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # The worker that records shadow answers shares CPU 1 with the load generator, as a
    # worker on another machine would take nothing from the serving CPU.
    workers = start_workers(1, concurrency=1)
    os.sched_setaffinity(workers[0].pid, {CLIENT_CPU})
    proc = start_server(
        [sys.executable, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
        port, env, log, ("/api/deployments/bc/predict", body, headers),
    )
    print(f"one-row requests, {'wrk' if use_wrk else 'asyncio client'}, concurrency {args.concurrency}, "
          f"{args.seconds:.0f} s per run, {args.rounds} rounds interleaved; server CPU {SERVER_CPU}, "
          f"load CPU {CLIENT_CPU}\n")
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    try:
        set_mode("plain")
        measure(port, body, headers, args)  # warm-up: models loaded, caches full
        for round_no in range(1, args.rounds + 1):
            for mode in MODES:
                set_mode(mode)
                r = measure(port, body, headers, args)
                results[mode].append(r)
                print(f"round {round_no} {mode:<7} {r['rps']:>8.0f} req/s   p50 {r['p50']:>6.2f} ms   "
                      f"p99 {r['p99']:>6.2f} ms   ({r['errors']} errors)", flush=True)
    finally:
        stop_server(proc)
    time.sleep(2)  # the last shadow batches
    stop(workers)
    from pipelines.models import PredictionLog, ShadowPrediction

    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")} for m, rs in results.items()}
    print()
    for mode, m in med.items():
        print(f"median {mode:<7} {m['rps']:>8.0f} req/s   p50 {m['p50']:>6.2f} ms   p99 {m['p99']:>6.2f} ms")
    shadow_rows = ShadowPrediction.objects.count()
    print(f"\nprediction logs: {PredictionLog.objects.count()}, shadow answers recorded: {shadow_rows}")
    cpu = cpu_per_request(body, args.rounds)
    print()
    for mode, values in cpu.items():
        print(f"cpu    {mode:<7} {statistics.median(values):7.1f} µs/request in the serving process "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})")
    plain_cpu = statistics.median(cpu["plain"])
    print(f"shadow / plain CPU per request   {statistics.median(cpu['shadow']) / plain_cpu:5.3f} x")
    print(f"canary / plain CPU per request   {statistics.median(cpu['canary']) / plain_cpu:5.3f} x")
    shadow_p99 = med["shadow"]["p99"] / med["plain"]["p99"]
    canary_p50 = med["canary"]["p50"] / med["plain"]["p50"]
    print(f"shadow p99 / plain p99   {shadow_p99:5.2f} x   (goal ≤ 1.10)   {'OK' if shadow_p99 <= 1.10 else 'MISSED'}")
    print(f"canary p50 / plain p50   {canary_p50:5.2f} x   (goal ≤ 1.05)   {'OK' if canary_p50 <= 1.05 else 'MISSED'}")


if __name__ == "__main__":
    main()
