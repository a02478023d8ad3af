"""Benchmark: the run history page with 10,000 runs.

Run it from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mlops_studio .venv/bin/python bench/run_history.py

(``--runs N`` changes the number of runs, ``--repeat N`` the requests per case.)
It creates a throwaway database next to the one DATABASE_URL names (Django's
test database, ``test_<name>``), migrates it, fills it with a workspace, a user,
a pipeline and 10,000 runs via ``bulk_create`` (plus 2,000 runs of somebody
else's pipeline as noise), then requests ``/pipelines/<id>/runs/`` through
Django's test Client: page 1, a deep page (200 of 400), status-filtered pages,
and the all-runs page ``/runs/``. For each it prints the median server time of the requests (after one
warm-up), the query count, and the ratio to the 150 ms goal. The database is
dropped at the end, also on errors. Without DATABASE_URL it runs on SQLite in
memory.

Exit status 1 if a case misses the goal or the query count differs between
page 1 and the deep page.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))  # the app refuses to start without one

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402

GOAL_MS = 150.0


def fill(n_runs: int, noise: int):
    from pipelines.demo import breast_cancer_graph
    from pipelines.models import Pipeline, PipelineVersion, Run, RunStatus, Workspace

    User = get_user_model()
    user = User.objects.create_user(username="bench", password="bench-pass-123")
    other = User.objects.create_user(username="someone-else", password="bench-pass-123")
    statuses = (
        [RunStatus.SUCCEEDED] * 6
        + [RunStatus.FAILED] * 2
        + [RunStatus.CANCELLED, RunStatus.RUNNING]
    )

    def pipeline_with_runs(owner, count: int) -> Pipeline:
        workspace = Workspace.objects.get(personal_owner=owner)
        graph = breast_cancer_graph()
        pipeline = Pipeline.objects.create(
            workspace=workspace, name="Bench", graph=graph, created_by=owner
        )
        versions = [
            PipelineVersion.objects.create(
                pipeline=pipeline, number=i + 1, graph=graph, graph_hash=f"{i}"
            )
            for i in range(10)
        ]
        now = timezone.now()
        runs = []
        for i in range(count):
            status = statuses[i % len(statuses)]
            created = now - timedelta(minutes=count - i)
            runs.append(
                Run(
                    workspace=workspace,
                    pipeline=pipeline,
                    pipeline_version=versions[i * len(versions) // count],
                    status=status,
                    created_by=owner,
                    created_at=created,
                    started_at=created + timedelta(seconds=1),
                    finished_at=None
                    if status == RunStatus.RUNNING
                    else created + timedelta(seconds=9),
                    steps_total=6,
                    steps_done=3 if status == RunStatus.RUNNING else 6,
                    headline={"name": "accuracy", "value": 0.9 + (i % 100) / 1000},
                )
            )
        # auto_now_add would stamp every row with the same instant; history needs a spread.
        created_at = Run._meta.get_field("created_at")
        created_at.auto_now_add = False
        try:
            Run.objects.bulk_create(runs, batch_size=2000)
        finally:
            created_at.auto_now_add = True
        return pipeline

    pipeline = pipeline_with_runs(user, n_runs)
    if noise:
        pipeline_with_runs(other, noise)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return user, pipeline


def measure(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    """(median ms, queries, status code) for ``repeat`` GETs after one warm-up."""
    response = client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Count now: captured_queries is read lazily from the log the next request resets.
    queries = len(captured)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), queries, response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--noise", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        user, pipeline = fill(args.runs, args.noise)
        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
            f"{args.runs:,} runs (+{args.noise:,} noise) in {time.perf_counter() - started:.1f} s"
        )
        client = Client()
        client.force_login(user)
        base = f"/pipelines/{pipeline.pk}/runs/"
        deep = max(1, min(200, (args.runs + 24) // 25))
        cases = [
            ("page 1", base),
            (f"page {deep}", f"{base}?page={deep}"),
            ("failed, page 1", f"{base}?status=failed"),
            ("failed, page 20", f"{base}?status=failed&page=20"),
            ("all runs, page 1", "/runs/"),
        ]
        print(f"{'case':<18}{'median ms':>10}{'queries':>9}{'vs 150 ms':>11}  status")
        failed = False
        query_counts = []
        for name, url in cases:
            ms, queries, code = measure(client, url, args.repeat)
            query_counts.append(queries)
            ratio = ms / GOAL_MS
            ok = code == 200 and ms <= GOAL_MS
            failed |= not ok
            print(
                f"{name:<18}{ms:>10.1f}{queries:>9}{ratio:>10.2f}×  {code} {'ok' if ok else 'MISSED'}"
            )
        if len(set(query_counts[:2])) != 1:
            print("query count differs between page 1 and the deep page")
            failed = True
        return 1 if failed else 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    sys.exit(main())
