"""Dispatch round trip of a one-step run vs a bare Celery task round trip.

    .venv/bin/python bench/dispatch.py [rounds]

Baseline: a bare Celery task round trip on the same broker (bench/_celery_ping.py:
the same delivery settings — acks_late, prefetch 1, prefork, one process — and
the same worker log level, no database, nothing but Celery): the floor any
Celery-dispatched step starts from. Ours: a one-step run (the iris dataset
block) through the service layer on a real worker; the round trip is submit →
succeeded minus the step's own compute time, i.e. creating the run, queueing
the task, the worker claiming it, storing the output and closing the run.

Both workers run for the whole bench and the two round trips are measured in
turns (bare, ours, bare, ours …), so a machine that gets busier or quieter
during the bench moves both alike; each is summarised by its median.

"Succeeded" is seen the moment the run's final status commits: a trigger on
the bench's own throwaway database NOTIFYs the bench, which waits on the
socket the way the baseline waits in BRPOP. Polling the run row (every 1 ms,
as a client would) is measured too, in the same turns, and printed beside it.

Goal: ≤ 5 × the bare Celery round trip. A raw Redis LPUSH/BRPOP ping-pong is
printed too, for scale.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from _harness import REDIS_URL, median, setup_django, start_workers, stop

BENCH = Path(__file__).resolve().parent
# Both workers alike; INFO (BENCH_LOGLEVEL=INFO) logs two lines per task in each.
LOGLEVEL = os.environ.get("BENCH_LOGLEVEL", "WARNING")
PING_ROUNDS = 200
FINAL = ("succeeded", "failed", "cancelled")


def _redis():
    import redis

    # redis-py's 5 s default socket timeout would cut a blocking pop short.
    return redis.Redis.from_url(REDIS_URL, socket_timeout=None)


def _echo() -> None:
    r = _redis()
    while True:
        _, message = r.brpop(["bench:ping"])
        if message == b"stop":
            return
        r.lpush("bench:pong", message)


def raw_ping_pong() -> float:
    r = _redis()
    r.delete("bench:ping", "bench:pong")
    echo = multiprocessing.Process(target=_echo)
    echo.start()
    times = []
    for i in range(PING_ROUNDS):
        started = time.perf_counter()
        r.lpush("bench:ping", str(i))
        r.brpop(["bench:pong"])
        times.append(time.perf_counter() - started)
    r.lpush("bench:ping", "stop")
    echo.join()
    return median(times[10:])


def start_ping_worker() -> subprocess.Popen:
    env = {**os.environ, "BENCH_REDIS_URL": REDIS_URL, "PYTHONPATH": str(BENCH)}
    # Without it Celery's Django fixup stays out of the bare worker, as it should.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "_celery_ping", "worker", "--concurrency=1",
         "--without-gossip", "--without-mingle", f"--loglevel={LOGLEVEL}",
         f"--hostname=ping-{os.getpid()}@%h"],
        cwd=BENCH, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    sys.path.insert(0, str(BENCH))
    from _celery_ping import ping

    _redis().delete("bench:celery-pong")
    ping.apply_async(args=[time.time()])
    if _redis().brpop(["bench:celery-pong"], timeout=120) is None:  # the worker is up
        stop([worker])
        raise RuntimeError("the bare Celery worker did not answer within 120 s")
    return worker


def celery_round_trip(redis_client) -> float:
    from _celery_ping import ping

    started = time.perf_counter()
    ping.apply_async(args=[time.time()])
    redis_client.brpop(["bench:celery-pong"])
    return time.perf_counter() - started


def listen_for_final_runs():
    """A connection LISTENing to ``bench_run_final``, fired by a trigger when a run ends."""
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION bench_run_final() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('bench_run_final', NEW.id::text); RETURN NULL; END $$;
            CREATE TRIGGER bench_run_final AFTER INSERT OR UPDATE OF status ON pipelines_run
            FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled'))
            EXECUTE FUNCTION bench_run_final();
            """
        )
    listener = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    listener.execute("LISTEN bench_run_final")
    return listener


def wait_notified(listener, run_id: int) -> None:
    for notice in listener.notifies(timeout=60):
        if notice.payload == str(run_id):
            return
    raise RuntimeError(f"run {run_id} did not finish within 60 s")


def wait_polled(run_id: int) -> str:
    from pipelines.models import Run

    while True:
        status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status in FINAL:
            return status
        time.sleep(0.001)


def main(rounds: int = 60, warmup: int = 5) -> None:
    raw = raw_ping_pong()
    setup_django()
    from django.contrib.auth import get_user_model

    from pipelines.graph.builder import GraphBuilder
    from pipelines.models import Pipeline, Run, StepRun, Workspace
    from pipelines.services.runs import run_start

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    pipeline = Pipeline.objects.create(
        workspace=Workspace.objects.get(personal_owner=user),
        name="noop",
        graph=GraphBuilder().node("load", "dataset.builtin", name="iris").build(),
    )
    listener = listen_for_final_runs()
    pong = _redis()

    def ours(*, notified: bool) -> float:
        started = time.perf_counter()
        run = run_start(pipeline=pipeline, user=user, use_cache=False)
        if notified:
            wait_notified(listener, run.pk)
        else:
            wait_polled(run.pk)
        elapsed = time.perf_counter() - started
        assert Run.objects.get(pk=run.pk).status == "succeeded"
        compute = StepRun.objects.get(run=run).summary.get("seconds", 0)
        return elapsed - compute

    ping_worker = start_ping_worker()
    workers = start_workers(1, concurrency=1, loglevel=LOGLEVEL)
    bare, notified, polled = [], [], []
    try:
        for index in range(warmup + rounds):
            # One turn: bare, ours (notified), bare, ours (polled).
            turn = [celery_round_trip(pong), ours(notified=True), celery_round_trip(pong), ours(notified=False)]
            if index >= warmup:
                bare += [turn[0], turn[2]]
                notified.append(turn[1])
                polled.append(turn[3])
    finally:
        stop([ping_worker, *workers])
        listener.close()
    floor, ours_n, ours_p = median(bare), median(notified), median(polled)
    print(f"raw Redis LPUSH/BRPOP ping-pong:  median {raw * 1000:.3f} ms ({PING_ROUNDS} rounds)")
    print(f"bare Celery task round trip:      median {floor * 1000:.3f} ms ({floor / raw:.1f}x raw Redis, {len(bare)} rounds)")
    print(f"one-step run dispatch round trip: median {ours_n * 1000:.3f} ms ({rounds} runs, final status notified)")
    print(f"  the same, polling the run row:  median {ours_p * 1000:.3f} ms ({rounds} runs, {ours_p / floor:.2f}x bare Celery)")
    print(f"ratio vs raw Redis: {ours_n / raw:.1f}x")
    print(f"ratio vs bare Celery: {ours_n / floor:.2f}x (goal ≤ 5x)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
