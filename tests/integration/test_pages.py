"""The server-rendered pages: who sees what, filters, query counts, downloads, compare.

Runs and steps are made directly with the ORM (no Celery worker needed). The
owner owns a personal workspace with one pipeline; the member is a viewer there;
the outsider belongs to nothing of the owner's and must get 404 everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipelines.graph.builder import GraphBuilder
from pipelines.models import (
    Membership,
    Pipeline,
    PipelineVersion,
    Role,
    Run,
    RunStatus,
    StepRun,
    Workspace,
)
from pipelines.services.artifacts import artifact_store

pytestmark = pytest.mark.django_db

User = get_user_model()

GRAPH = (
    GraphBuilder()
    .node("load", "dataset.builtin", at=(0, 0), name="iris")
    .node("split", "data.split", at=(260, 0), test_size=0.25, seed=0)
    .node("forest", "sklearn.ensemble.RandomForestClassifier", at=(0, 200), n_estimators=100)
    .node("train", "model.train", at=(520, 100), target="target")
    .node("evaluate", "model.evaluate", at=(780, 100), target="target")
    .edge("load.table", "split.table")
    .edge("forest.estimator", "train.estimator")
    .edge("split.train", "train.table")
    .edge("train.model", "evaluate.model")
    .edge("split.test", "evaluate.table")
    .build()
)

METRICS = {
    "task": "classification",
    "n_samples": 38,
    "accuracy": 0.947,
    "f1": 0.94,
    "confusion_matrix": {"labels": [0, 1, 2], "matrix": [[12, 0, 0], [0, 11, 1], [0, 1, 13]]},
    "headline": {"name": "accuracy", "value": 0.947},
}


# --- factories ---------------------------------------------------------------


def make_user(username: str):
    return User.objects.create_user(username=username, password="pw-" + username + "-123")


def make_pipeline(owner, *, name: str = "Iris forest", graph: dict | None = None) -> Pipeline:
    workspace = Workspace.objects.get(personal_owner=owner)
    return Pipeline.objects.create(
        workspace=workspace,
        name=name,
        description="Classify irises.",
        graph=graph or GRAPH,
        created_by=owner,
    )


def make_version(pipeline: Pipeline, graph: dict | None = None) -> PipelineVersion:
    number = (
        pipeline.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    return PipelineVersion.objects.create(
        pipeline=pipeline, number=number, graph=graph or pipeline.graph, graph_hash=f"h{number}"
    )


def make_run(
    pipeline: Pipeline, version: PipelineVersion, *, status: str = RunStatus.SUCCEEDED, **fields
) -> Run:
    now = timezone.now()
    final = status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
    defaults = {
        "started_at": now - timedelta(seconds=5) if status != RunStatus.QUEUED else None,
        "finished_at": now if final else None,
        "steps_total": 5,
        "steps_done": 5 if final else 2,
        "headline": {"name": "accuracy", "value": 0.947} if status == RunStatus.SUCCEEDED else None,
        "created_by": pipeline.created_by,
    }
    defaults.update(fields)
    return Run.objects.create(
        workspace=pipeline.workspace,
        pipeline=pipeline,
        pipeline_version=version,
        status=status,
        **defaults,
    )


def make_runs(pipeline: Pipeline, version: PipelineVersion, count: int) -> None:
    statuses = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.QUEUED]
    Run.objects.bulk_create(
        Run(
            workspace=pipeline.workspace,
            pipeline=pipeline,
            pipeline_version=version,
            status=statuses[i % len(statuses)],
            created_by=pipeline.created_by,
            steps_total=5,
            steps_done=i % 6,
            headline={"name": "accuracy", "value": 0.9},
        )
        for i in range(count)
    )


def make_step(
    run: Run, node_id: str, block_key: str, *, status: str = "succeeded", **fields
) -> StepRun:
    position = run.steps.count()
    return StepRun.objects.create(
        run=run,
        node_id=node_id,
        block_key=block_key,
        block_version="1",
        position=position,
        status=status,
        **fields,
    )


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def owner():
    return make_user("owner")


@pytest.fixture
def member(owner):
    user = make_user("member")
    Membership.objects.create(
        workspace=Workspace.objects.get(personal_owner=owner), user=user, role=Role.VIEWER
    )
    return user


@pytest.fixture
def outsider():
    return make_user("outsider")


@pytest.fixture
def pipeline(owner):
    return make_pipeline(owner)


@pytest.fixture
def version(pipeline):
    return make_version(pipeline)


@pytest.fixture
def run(pipeline, version):
    run = make_run(pipeline, version)
    make_step(run, "load", "dataset.builtin")
    make_step(run, "evaluate", "model.evaluate", summary={"metrics": METRICS})
    return run


@pytest.fixture
def store(settings, tmp_path):
    """An artifact store in a temporary folder (the store is cached per process)."""
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    artifact_store.cache_clear()
    yield artifact_store()
    artifact_store.cache_clear()


def login(client, user):
    client.force_login(user)
    return client


def page_urls(pipeline: Pipeline, run: Run, other: Run) -> list[str]:
    return [
        f"/pipelines/{pipeline.pk}/runs/",
        f"/runs/{run.pk}/",
        f"/runs/{run.pk}/compare/{other.pk}/",
    ]


# --- login and visibility --------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page(client, pipeline):
    response = client.get("/pipelines/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/pipelines/")


def test_login_page_shows_the_demo_hint(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"demo-pass-123" in response.content


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_see_every_page(client, request, pipeline, version, run, who):
    other = make_run(pipeline, version)
    login(client, request.getfixturevalue(who))
    for url in ["/pipelines/", "/runs/", *page_urls(pipeline, run, other)]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"MLOps Studio" in response.content


def test_outsider_gets_404_on_run_history(client, outsider, pipeline):
    assert login(client, outsider).get(f"/pipelines/{pipeline.pk}/runs/").status_code == 404


def test_outsider_gets_404_on_run_detail(client, outsider, run):
    assert login(client, outsider).get(f"/runs/{run.pk}/").status_code == 404


def test_outsider_gets_404_on_compare_even_with_one_own_run(client, outsider, run):
    own_pipeline = make_pipeline(outsider, name="Mine")
    own_run = make_run(own_pipeline, make_version(own_pipeline))
    login(client, outsider)
    assert client.get(f"/runs/{own_run.pk}/compare/{run.pk}/").status_code == 404
    assert client.get(f"/runs/{run.pk}/compare/{own_run.pk}/").status_code == 404


def test_outsider_does_not_see_the_pipeline_in_lists(client, outsider, run):
    login(client, outsider)
    assert b"Iris forest" not in client.get("/pipelines/").content
    assert f"/runs/{run.pk}/".encode() not in client.get("/runs/").content


def test_unknown_run_is_404(client, owner):
    assert login(client, owner).get("/runs/999999/").status_code == 404


# --- pipelines list ------------------------------------------------------------------


def test_pipeline_list_shows_counts_last_status_and_editor_link(client, owner, pipeline, version):
    make_run(pipeline, version, status=RunStatus.SUCCEEDED)
    make_run(pipeline, version, status=RunStatus.FAILED)
    html = login(client, owner).get("/pipelines/").content.decode()
    assert "Iris forest" in html
    assert f'href="/pipelines/{pipeline.pk}/edit/"' in html
    assert 'href="/pipelines/new/"' in html
    assert "badge--failed" in html  # the newest run
    assert ">5<" in html  # node count


def test_pipeline_list_explains_what_to_do_when_empty(client, outsider):
    html = login(client, outsider).get("/pipelines/").content.decode()
    assert "No pipelines yet" in html
    assert 'href="/pipelines/new/"' in html


# --- run history -----------------------------------------------------------------------


def test_run_history_status_filter_shows_only_that_status(client, owner, pipeline, version):
    failed = make_run(pipeline, version, status=RunStatus.FAILED)
    ok = make_run(pipeline, version, status=RunStatus.SUCCEEDED)
    html = (
        login(client, owner).get(f"/pipelines/{pipeline.pk}/runs/?status=failed").content.decode()
    )
    assert f'href="/runs/{failed.pk}/"' in html
    assert f'href="/runs/{ok.pk}/"' not in html


def test_run_history_ignores_an_unknown_status(client, owner, pipeline, version):
    ok = make_run(pipeline, version)
    response = login(client, owner).get(f"/pipelines/{pipeline.pk}/runs/?status=bogus")
    assert response.status_code == 200
    assert f'href="/runs/{ok.pk}/"'.encode() in response.content


def test_run_history_shows_version_headline_and_progress(client, owner, pipeline, version):
    make_run(
        pipeline,
        version,
        status=RunStatus.SUCCEEDED,
        headline={"name": "accuracy", "value": 0.9734},
    )
    make_run(pipeline, version, status=RunStatus.RUNNING, steps_done=3, steps_total=6)
    html = login(client, owner).get(f"/pipelines/{pipeline.pk}/runs/").content.decode()
    assert f"v{version.number}" in html
    assert "0.9734" in html
    assert 'style="width: 50%"' in html


def test_run_history_paginates_25_per_page(client, owner, pipeline, version):
    make_runs(pipeline, version, 30)
    login(client, owner)
    first = client.get(f"/pipelines/{pipeline.pk}/runs/").content.decode()
    second = client.get(f"/pipelines/{pipeline.pk}/runs/?page=2").content.decode()
    assert first.count('class="compare-box"') == 25
    assert second.count('class="compare-box"') == 5


@pytest.mark.parametrize("count", [5, 60])
def test_run_history_query_count_does_not_grow_with_runs(
    client, owner, pipeline, version, count, django_assert_max_num_queries
):
    make_runs(pipeline, version, count)
    login(client, owner)
    # session, user, memberships, pipeline, status counts, the page of runs,
    # the pipeline's schedules and its triggers, the nav's firing alerts, and (for an
    # editor) the trigger form's dataset names and other pipelines
    with django_assert_max_num_queries(11):
        response = client.get(f"/pipelines/{pipeline.pk}/runs/")
    assert response.status_code == 200


def test_run_history_runs_the_same_queries_for_5_and_60_runs(client, owner, pipeline, version):
    login(client, owner)
    url = f"/pipelines/{pipeline.pk}/runs/"
    make_runs(pipeline, version, 5)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    # Read the SQL now: the log is reset by the next request.
    few = [q["sql"] for q in captured.captured_queries]
    make_runs(pipeline, version, 55)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    many = [q["sql"] for q in captured.captured_queries]
    assert len(few) == len(many) > 0


def test_compare_form_goes_to_the_compare_page_older_run_left(client, owner, pipeline, version):
    a, b = make_run(pipeline, version), make_run(pipeline, version)
    response = login(client, owner).get(f"/runs/compare/?run={b.pk}&run={a.pk}")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{a.pk}/compare/{b.pk}/"


# --- run detail --------------------------------------------------------------------------


def test_run_detail_shows_graph_steps_metrics_and_confusion_matrix(client, owner, run):
    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()
    assert "<svg" in html and 'class="g-node g-node--succeeded' in html
    assert 'id="step-evaluate"' in html
    assert "Confusion matrix" in html and 'class="cm"' in html
    assert "0.947" in html


def write_manifest(dist, entries: dict) -> None:
    (dist / ".vite").mkdir(parents=True, exist_ok=True)
    (dist / ".vite" / "manifest.json").write_text(json.dumps(entries))


@pytest.fixture
def unbuilt(settings, tmp_path):
    """No frontend bundle: the pages fall back to what the server draws."""
    settings.FRONTEND_DIST = tmp_path / "no-dist"


@pytest.fixture
def built(settings, tmp_path):
    """A frontend bundle with the run graph entry sharing a chunk with the editor."""
    settings.FRONTEND_DIST = tmp_path / "dist"
    write_manifest(
        settings.FRONTEND_DIST,
        {
            "_shared-1.js": {"file": "assets/shared-1.js", "css": ["assets/shared-1.css"]},
            "src/main.tsx": {
                "file": "assets/main-1.js",
                "isEntry": True,
                "imports": ["_shared-1.js"],
            },
            "src/runGraph.tsx": {
                "file": "assets/runGraph-1.js",
                "isEntry": True,
                "imports": ["_shared-1.js"],
            },
        },
    )


def test_run_detail_draws_the_graph_on_the_server_when_the_bundle_is_not_built(
    client, owner, run, unbuilt
):
    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()
    assert '<div class="graph-wrap"><svg' in html
    assert 'class="g-node g-node--succeeded' in html
    assert "run-graph-data" not in html and "runGraph" not in html


def test_run_detail_mounts_the_editor_nodes_read_only_when_the_bundle_is_built(
    client, owner, run, built
):
    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()
    assert '<script type="module" src="/static/assets/runGraph-1.js">' in html
    assert '<link rel="modulepreload" href="/static/assets/shared-1.js">' in html
    assert '<link rel="stylesheet" href="/static/assets/shared-1.css">' in html
    assert 'id="run-graph-root"' in html
    # Without JavaScript the server's picture is still there.
    assert '<noscript id="run-graph-fallback"><div class="graph-wrap"><svg' in html
    data = json.loads(re.search(r'id="run-graph-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert data["run"]["id"] == run.pk
    assert [n["id"] for n in data["graph"]["nodes"]] == [n["id"] for n in GRAPH["nodes"]]
    steps = {s["node_id"]: s for s in data["steps"]}
    assert steps["load"]["status"] == "succeeded"
    assert steps["evaluate"]["headline"] == {"name": "accuracy", "value": 0.947}


def test_run_detail_says_which_run_a_cached_step_came_from(client, owner, pipeline, version, run):
    origin = run.steps.get(node_id="load")
    later = make_run(pipeline, version)
    make_step(later, "load", "dataset.builtin", cache_hit=True, cached_from=origin)
    html = login(client, owner).get(f"/runs/{later.pk}/").content.decode()
    assert f'from <a href="/runs/{run.pk}/">run {run.pk}</a>' in html
    assert "g-node--cached" in html


def test_the_run_graph_data_marks_cached_steps_and_where_they_came_from(
    client, owner, pipeline, version, run, built
):
    origin = run.steps.get(node_id="load")
    later = make_run(pipeline, version)
    make_step(later, "load", "dataset.builtin", cache_hit=True, cached_from=origin)
    html = login(client, owner).get(f"/runs/{later.pk}/").content.decode()
    data = json.loads(re.search(r'id="run-graph-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert data["steps"] == [
        {
            "node_id": "load",
            "block_key": "dataset.builtin",
            "status": "succeeded",
            "cache_hit": True,
            "cached_from_run": run.pk,
            "headline": None,
            "error": "",
        }
    ]


def test_failed_run_shows_the_error_and_a_collapsible_traceback(client, owner, pipeline, version):
    failed = make_run(
        pipeline, version, status=RunStatus.FAILED, error="step 'train' failed: no column 'y'"
    )
    make_step(
        failed,
        "train",
        "model.train",
        status="failed",
        error="there is no target column 'y'",
        error_detail="Traceback (most recent call last):\n  boom",
    )
    html = login(client, owner).get(f"/runs/{failed.pk}/").content.decode()
    assert "there is no target column &#x27;y&#x27;" in html
    assert '<details class="traceback">' in html and "most recent call last" in html


def test_viewer_gets_no_retry_or_cancel_buttons(client, member, pipeline, version):
    running = make_run(pipeline, version, status=RunStatus.RUNNING)
    html = login(client, member).get(f"/runs/{running.pk}/").content.decode()
    assert 'data-action="cancel"' not in html


def test_editor_can_cancel_a_running_run_and_retry_a_failed_one(client, owner, pipeline, version):
    login(client, owner)
    running = make_run(pipeline, version, status=RunStatus.RUNNING)
    failed = make_run(pipeline, version, status=RunStatus.FAILED)
    assert b'data-action="cancel"' in client.get(f"/runs/{running.pk}/").content
    assert b'data-action="retry"' in client.get(f"/runs/{failed.pk}/").content


def test_run_in_progress_page_polls_and_a_final_one_does_not(client, owner, pipeline, version):
    login(client, owner)
    running = make_run(pipeline, version, status=RunStatus.RUNNING)
    done = make_run(pipeline, version, status=RunStatus.SUCCEEDED)
    assert b"setTimeout(poll" in client.get(f"/runs/{running.pk}/").content
    assert b"setTimeout(poll" not in client.get(f"/runs/{done.pk}/").content


@pytest.mark.parametrize("bundle", ["built", "unbuilt"])
def test_node_ids_and_params_are_escaped_in_the_graph(client, owner, request, bundle):
    request.getfixturevalue(bundle)
    graph = GraphBuilder().node("<script>x</script>", "dataset.builtin", at=(0, 0)).build()
    pipeline = make_pipeline(owner, graph=graph)
    run = make_run(pipeline, make_version(pipeline))
    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()
    assert "<script>x</script>" not in html


# --- artifact downloads ------------------------------------------------------------------


def test_table_output_downloads_as_csv(client, member, run, store):
    stored = store.put_table(pd.DataFrame({"sepal_length": [5.1, 4.9], "target": [0, 1]}))
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})
    response = login(client, member).get(f"/runs/{run.pk}/steps/split/outputs/train/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="run{run.pk}-split-train.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["sepal_length", "target"], ["5.1", "0"], ["4.9", "1"]]


def test_object_output_downloads_as_raw_bytes(client, owner, run, store):
    stored = store.put_object({"fitted": True})
    make_step(run, "train", "model.train", outputs={"model": stored.as_ref()})
    response = login(client, owner).get(f"/runs/{run.pk}/steps/train/outputs/model/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == store.path(stored.sha256).read_bytes()
    assert "run" in response["Content-Disposition"] and ".joblib" in response["Content-Disposition"]


def test_unknown_output_port_is_404(client, owner, run, store):
    stored = store.put_table(pd.DataFrame({"a": [1]}))
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})
    login(client, owner)
    assert client.get(f"/runs/{run.pk}/steps/split/outputs/nope/").status_code == 404
    assert client.get(f"/runs/{run.pk}/steps/ghost/outputs/train/").status_code == 404


def test_outsider_cannot_download_an_artifact(client, outsider, run, store):
    stored = store.put_table(pd.DataFrame({"a": [1]}))
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})
    assert (
        login(client, outsider).get(f"/runs/{run.pk}/steps/split/outputs/train/").status_code == 404
    )


def test_run_detail_links_every_output_for_download(client, owner, run, store):
    stored = store.put_table(pd.DataFrame({"a": [1]}))
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})
    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()
    assert f'href="/runs/{run.pk}/steps/split/outputs/train/"' in html


# --- compare ---------------------------------------------------------------------------------


def test_compare_shows_a_changed_param_old_and_new(client, owner, pipeline, version, run):
    changed = {**GRAPH, "nodes": [dict(n) for n in GRAPH["nodes"]]}
    changed["nodes"][2] = {**changed["nodes"][2], "params": {"n_estimators": 300}}
    newer = make_run(pipeline, make_version(pipeline, changed))
    make_step(
        newer, "evaluate", "model.evaluate", summary={"metrics": {**METRICS, "accuracy": 0.974}}
    )
    html = login(client, owner).get(f"/runs/{run.pk}/compare/{newer.pk}/").content.decode()
    assert "forest" in html and "n_estimators" in html
    assert ">100<" in html and ">300<" in html
    assert "+0.0270" in html and "delta--better" in html


def test_compare_of_the_same_version_says_the_graphs_are_identical(
    client, owner, pipeline, version, run
):
    other = make_run(pipeline, version)
    html = login(client, owner).get(f"/runs/{run.pk}/compare/{other.pk}/").content.decode()
    assert "the graphs are identical" in html


def test_not_found_pages_use_the_app_layout(client, outsider, run):
    response = login(client, outsider).get(f"/runs/{run.pk}/")
    assert response.status_code == 404
    assert b"Back to pipelines" in response.content and b"app.css" in response.content


def test_run_detail_charts_tuning_results_best_first(client, owner, pipeline, version):
    tuned = make_run(pipeline, version)
    report = {
        "type": "report", "kind": "tuning", "scoring": "accuracy", "folds": 5, "candidates": 3,
        "best_params": {"C": 1}, "best_score": 0.98,
        "results": [
            {"rank": 1, "params": {"C": 1}, "mean_score": 0.98, "std_score": 0.01, "fit_seconds": 0.5},
            {"rank": 2, "params": {"C": 10}, "mean_score": 0.95, "std_score": 0.02, "fit_seconds": 0.7},
            {"rank": None, "params": {"C": -1}, "mean_score": None, "std_score": None,
             "fit_seconds": 0.1, "error": "InvalidParameterError: C must be > 0"},
        ],
        "headline": {"name": "cv accuracy", "value": 0.98},
    }
    make_step(tuned, "tune", "model.tune", summary={"outputs": {"report": report}})

    html = login(client, owner).get(f"/runs/{tuned.pk}/").content.decode()

    assert "Tuning results" in html
    assert html.index("C=1<") < html.index("C=10<")
    assert html.count('class="score-bar"') == 2
    assert "C must be &gt; 0" in html


def test_run_detail_shows_trial_progress_of_a_running_tuning_step(client, owner, pipeline, version):
    running = make_run(pipeline, version, status=RunStatus.RUNNING)
    make_step(running, "tune", "model.tune", status="running",
              summary={"fanout": {"total": 20, "done": 5, "attempt": 1}})

    html = login(client, owner).get(f"/runs/{running.pk}/").content.decode()

    assert "5 of 20 trials done" in html


def test_editors_can_register_the_model_a_training_step_made(client, owner, member, pipeline, version):
    trained = make_run(pipeline, version)
    make_step(trained, "train", "model.train", outputs={"model": {"sha256": "a" * 64, "kind": "object"}})

    owner_html = login(client, owner).get(f"/runs/{trained.pk}/").content.decode()
    viewer_html = login(client, member).get(f"/runs/{trained.pk}/").content.decode()

    assert 'class="register-form" data-node="train"' in owner_html
    assert 'value="iris-forest"' in owner_html
    assert "class=\"register-form\"" not in viewer_html


def test_run_history_charts_the_headline_metric_oldest_first(client, owner, pipeline, version):
    for value in (0.81, 0.86, 0.9):
        make_run(pipeline, version, headline={"name": "accuracy", "value": value})

    html = login(client, owner).get(f"/pipelines/{pipeline.pk}/runs/").content.decode()

    assert 'class="trend"' in html
    titles = [line for line in html.split("<title>")[1:] if line.startswith("run #")]
    assert [t.split("accuracy ")[1].split("<")[0] for t in titles][-3:] == ["0.81", "0.86", "0.9"]


def test_compare_draws_paired_bars_for_scores(client, owner, pipeline, version):
    left, right = make_run(pipeline, version), make_run(pipeline, version)
    make_step(left, "evaluate", "model.evaluate", summary={"metrics": {"accuracy": 0.8}})
    make_step(right, "evaluate", "model.evaluate", summary={"metrics": {"accuracy": 0.9}})

    html = login(client, owner).get(f"/runs/{left.pk}/compare/{right.pk}/").content.decode()

    assert 'class="pair-bar pair-bar--left" style="width: 80.0%"' in html
    assert 'class="pair-bar pair-bar--right" style="width: 90.0%"' in html


@pytest.fixture
def s3_store(settings, tmp_path, s3_server, s3_bucket):
    """The artifact store on a bucket of the loopback S3 server (ARTIFACT_STORAGE set)."""
    settings.ARTIFACT_STORAGE = f"s3://{s3_bucket}/artifacts"
    settings.AWS_ENDPOINT_URL = s3_server
    settings.ARTIFACT_CACHE_DIR = tmp_path / "cache"
    settings.ARTIFACT_ROOT = tmp_path / "unused-artifact-root"
    artifact_store.cache_clear()
    yield artifact_store()
    artifact_store.cache_clear()


def test_on_s3_an_object_output_redirects_members_to_a_short_lived_presigned_download(
    client, owner, outsider, run, s3_store, settings
):
    import urllib.request

    stored = s3_store.put_object({"fitted": True})
    make_step(run, "train", "model.train", outputs={"model": stored.as_ref()})

    response = login(client, owner).get(f"/runs/{run.pk}/steps/train/outputs/model/")

    assert response.status_code == 302
    assert response["Location"].startswith(settings.AWS_ENDPOINT_URL) and "X-Amz-Expires=300" in response["Location"]
    with urllib.request.urlopen(response["Location"]) as download:
        assert download.read() == s3_store.read_verified(stored.sha256, "object")
        assert f'filename="run{run.pk}-train-model.joblib"' in download.headers["Content-Disposition"]
    assert login(client, outsider).get(f"/runs/{run.pk}/steps/train/outputs/model/").status_code == 404
    assert not settings.ARTIFACT_ROOT.exists()  # nothing written under ARTIFACT_ROOT


def test_on_s3_a_table_output_still_downloads_as_csv(client, member, run, s3_store):
    stored = s3_store.put_table(pd.DataFrame({"x": [1, 2]}))
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})

    response = login(client, member).get(f"/runs/{run.pk}/steps/split/outputs/train/")

    assert response.status_code == 200 and response.content.decode().splitlines() == ["x", "1", "2"]
