"""Dispatch round trip of a one-step run vs a bare Celery task round trip.

    .venv/bin/python bench/dispatch.py

Baseline: a bare Celery task round trip on the same broker (bench/_celery_ping.py:
same delivery settings, no database, nothing but Celery) — the floor any
Celery-dispatched step starts from. Ours: a one-step run (the iris dataset
block) through the service layer on a real worker; the round trip is submit →
succeeded minus the step's own compute time, i.e. creating the run, queueing
the task, the worker claiming it, storing the output and closing the run.
Goal: ≤ 5 × the bare Celery round trip. A raw Redis LPUSH/BRPOP ping-pong is
printed too, for scale.
"""

from __future__ import annotations

import multiprocessing
import time

from _harness import REDIS_URL, median, setup_django, start_workers, stop

ROUNDS = 200


def _echo(url: str) -> None:
    import redis

    r = redis.Redis.from_url(url)
    while True:
        _, message = r.brpop(["bench:ping"])
        if message == b"stop":
            return
        r.lpush("bench:pong", message)


def raw_ping_pong() -> float:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    r.delete("bench:ping", "bench:pong")
    echo = multiprocessing.Process(target=_echo, args=(REDIS_URL,))
    echo.start()
    times = []
    for i in range(ROUNDS):
        started = time.perf_counter()
        r.lpush("bench:ping", str(i))
        r.brpop(["bench:pong"])
        times.append(time.perf_counter() - started)
    r.lpush("bench:ping", "stop")
    echo.join()
    return median(times[10:])


def celery_ping_pong() -> float:
    import os
    import subprocess
    import sys

    import redis

    r = redis.Redis.from_url(REDIS_URL)
    r.delete("bench:celery-pong")
    env = {**os.environ, "BENCH_REDIS_URL": REDIS_URL}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "_celery_ping", "worker", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        from _celery_ping import ping

        ping.apply_async(args=[time.time()])
        r.brpop(["bench:celery-pong"], timeout=60)  # the worker is up
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            ping.apply_async(args=[time.time()])
            r.brpop(["bench:celery-pong"])
            times.append(time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    return median(times[10:])


def main(runs: int = 40) -> None:
    raw = raw_ping_pong()
    bare = celery_ping_pong()
    setup_django()
    from django.contrib.auth import get_user_model

    from pipelines.graph.builder import GraphBuilder
    from pipelines.models import Pipeline, Run, Workspace
    from pipelines.services.runs import run_start

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    pipeline = Pipeline.objects.create(
        workspace=Workspace.objects.get(personal_owner=user),
        name="noop",
        graph=GraphBuilder().node("load", "dataset.builtin", name="iris").build(),
    )
    workers = start_workers(1, concurrency=1)
    round_trips = []
    try:
        for index in range(runs + 3):
            started = time.perf_counter()
            run = run_start(pipeline=pipeline, user=user, use_cache=False)
            while True:
                status = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
                if status in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.001)
            elapsed = time.perf_counter() - started
            assert status == "succeeded"
            if index >= 3:
                step = run.steps.get()
                round_trips.append(elapsed - step.summary.get("seconds", 0))
    finally:
        stop(workers)
    ours = median(round_trips)
    print(f"raw Redis LPUSH/BRPOP ping-pong: median {raw * 1000:.3f} ms ({ROUNDS} rounds)")
    print(f"bare Celery task round trip:      median {bare * 1000:.3f} ms ({bare / raw:.1f}x raw Redis)")
    print(f"one-step run dispatch round trip: median {ours * 1000:.3f} ms ({runs} runs)")
    print(f"ratio vs raw Redis: {ours / raw:.1f}x")
    print(f"ratio vs bare Celery: {ours / bare:.2f}x (goal ≤ 5x)")


if __name__ == "__main__":
    main()
