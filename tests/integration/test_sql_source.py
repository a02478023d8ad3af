"""dataset.sql on the machine's PostgreSQL: saved connections, read-only queries, runs on a worker.

A throwaway database with a ``customers`` table and a login role that may
write it (so that only the read-only session stops a write) is made per module.
The server trusts local logins, so any password works: encryption at rest is
checked on the raw column instead.
"""

from __future__ import annotations

import io

import psycopg
import pytest
from django.conf import settings
from django.db import connection as django_db

from pipelines.blocks import BlockError
from pipelines.blocks.sql_source import run_sql_source
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Connection
from pipelines.services.connections import connection_opener, password_decrypt
from tests.conftest import wait_for_run
from tests.integration.world import personal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-Pa55word-never-shown"
ROWS = 200


def _server() -> dict:
    db = settings.DATABASES["default"]
    return {"host": db["HOST"] or "127.0.0.1", "port": int(db["PORT"] or 5432), "user": db["USER"]}


@pytest.fixture(scope="module")
def source():
    """A database ``<test db>_src`` with ``customers`` (200 rows) and a role that may write it."""
    server = _server()
    name = f"{settings.DATABASES['default']['NAME']}_src"[:60]
    role = f"{name}_reader"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}'")
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True, **server) as db:
        db.execute(
            "CREATE TABLE customers (id int PRIMARY KEY, tenure float, spend numeric(8,2), "
            "plan text, churned int)"
        )
        db.execute(
            "INSERT INTO customers SELECT g, (g % 13)::float, (g % 7) * 10.5, "
            f"CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'basic' END, g % 2 FROM generate_series(1, {ROWS}) g"
        )
        db.execute("CREATE SEQUENCE ticket")
        db.execute(f'GRANT ALL ON customers, ticket TO "{role}"')
    yield {**server, "database": name, "user": role}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def customers(source) -> int:
    with psycopg.connect(dbname=source["database"], **_server()) as db:
        return db.execute("SELECT count(*) FROM customers").fetchone()[0]


def save(client, source, name="warehouse", **extra):
    body = {
        "name": name, "host": source["host"], "port": source["port"], "database": source["database"],
        "user": source["user"], "password": PASSWORD, **extra,
    }
    return client.post("/api/connections/", body, format="json")


def sql_graph(query: str, *, connection="warehouse", max_rows=100_000):
    return (
        GraphBuilder()
        .node("load", "dataset.sql", connection=connection, query=query, max_rows=max_rows)
        .node("split", "data.split", stratify_column="churned")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train", target="churned")
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def start(client, graph):
    created = client.post("/api/pipelines/", {"name": "from sql", "graph": graph}, format="json")
    assert created.status_code == 201, created.content
    return client.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")


class _Ctx:
    """The step context a worker gives a block, with the run's workspace's connections."""

    def __init__(self, workspace_id: int):
        self.connection = connection_opener(workspace_id=workspace_id)
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def run_block(workspace_id: int, connection_id: int, query: str, max_rows: int = 100_000):
    params = {"connection": "warehouse", "connection_id": connection_id, "query": query,
              "max_rows": max_rows, "timeout_seconds": 10}
    return run_sql_source(_Ctx(workspace_id), {}, params)["table"]


# -- saved connections ---------------------------------------------------------------------


def test_a_saved_connection_never_shows_its_password_and_stores_it_encrypted(
    owner_api, admin_client, source
):
    created = save(owner_api, source)
    assert created.status_code == 201, created.content
    connection_id = created.json()["id"]
    answers = [
        created,
        owner_api.get("/api/connections/"),
        owner_api.get(f"/api/connections/{connection_id}/"),
        admin_client.get("/admin/pipelines/connection/"),
        admin_client.get(f"/admin/pipelines/connection/{connection_id}/change/"),
    ]
    for answer in answers:
        assert answer.status_code == 200 or answer.status_code == 201
        assert PASSWORD not in answer.content.decode()
    assert "password" not in created.json()
    assert created.json()["user"] == source["user"]

    with django_db.cursor() as cursor:
        cursor.execute("SELECT password_encrypted FROM pipelines_connection WHERE id = %s", [connection_id])
        (stored,) = cursor.fetchone()
    assert PASSWORD not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert password_decrypt(stored) == PASSWORD


def test_a_connection_that_cannot_log_in_is_refused_with_the_drivers_message_not_the_password(
    owner_api, source
):
    response = save(owner_api, {**source, "database": "no_such_database_here"})

    assert response.status_code == 400
    assert 'database "no_such_database_here" does not exist' in response.json()["detail"]
    assert PASSWORD not in response.content.decode()
    assert not Connection.objects.exists()


def test_connection_names_are_unique_per_workspace(owner_api, source):
    assert save(owner_api, source).status_code == 201
    again = save(owner_api, source)
    assert again.status_code == 409 and again.json()["field"] == "name"


def test_viewers_list_connections_but_only_editors_save_and_delete_them(
    owner, owner_api, viewer, editor, source
):
    from tests.conftest import api_client_for

    viewer_api, editor_api = api_client_for(viewer), api_client_for(editor)
    workspace = personal(owner).pk
    assert save(viewer_api, source, workspace=workspace).status_code == 403
    created = save(editor_api, source, workspace=workspace)
    assert created.status_code == 201, created.content
    listed = viewer_api.get(f"/api/connections/?workspace={workspace}").json()["results"]
    assert [c["name"] for c in listed] == ["warehouse"]
    url = f"/api/connections/{created.json()['id']}/"
    assert viewer_api.delete(url).status_code == 403
    assert editor_api.delete(url).status_code == 204
    assert not Connection.objects.exists()


def test_outsiders_neither_see_nor_delete_another_workspaces_connection(owner_api, outsider_api, source):
    created = save(owner_api, source).json()

    assert outsider_api.get("/api/connections/").json()["results"] == []
    assert outsider_api.get(f"/api/connections/{created['id']}/").status_code == 404
    assert outsider_api.delete(f"/api/connections/{created['id']}/").status_code == 404
    assert Connection.objects.filter(pk=created["id"]).exists()


# -- reading, read-only ----------------------------------------------------------------------


def test_the_block_reads_the_query_result_with_numbers_as_numbers(owner, owner_api, source):
    connection_id = save(owner_api, source).json()["id"]

    # A % in the query is SQL's modulo: the query is sent without placeholders.
    frame = run_block(personal(owner).pk, connection_id, "SELECT *, id % 2 AS odd FROM customers ORDER BY id")

    assert frame.shape == (ROWS, 6) and frame["odd"].sum() == ROWS // 2
    assert frame["spend"].dtype.kind == "f" and frame["plan"].iloc[2] == "pro"


@pytest.mark.parametrize(
    "query",
    [
        "WITH gone AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM gone",
        "WITH x AS (UPDATE customers SET plan = 'x' RETURNING 1) SELECT 1",
        "SELECT nextval('ticket')",
    ],
)
def test_a_query_that_would_write_is_refused_and_changes_nothing(owner, owner_api, source, query):
    connection_id = save(owner_api, source).json()["id"]

    with pytest.raises(BlockError) as caught:
        run_block(personal(owner).pk, connection_id, query)

    assert caught.value.param == "query"
    assert customers(source) == ROWS
    with psycopg.connect(dbname=source["database"], **_server()) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE plan = 'x'").fetchone()[0] == 0
        assert db.execute("SELECT last_value, is_called FROM ticket").fetchone() == (1, False)


def test_a_result_over_max_rows_is_refused_with_a_clear_message(owner, owner_api, source):
    connection_id = save(owner_api, source).json()["id"]

    with pytest.raises(BlockError) as caught:
        run_block(personal(owner).pk, connection_id, "SELECT * FROM customers", max_rows=50)

    assert caught.value.param == "max_rows"
    assert "more than 50 rows" in caught.value.message and "LIMIT" in caught.value.message
    assert len(run_block(personal(owner).pk, connection_id, "SELECT * FROM customers", max_rows=ROWS)) == ROWS


def test_a_forged_connection_id_of_another_workspace_gives_no_credentials(owner_api, outsider, source):
    connection_id = save(owner_api, source).json()["id"]

    with pytest.raises(BlockError) as caught:
        run_block(personal(outsider).pk, connection_id, "SELECT 1")
    assert "no longer exists" in caught.value.message


# -- runs --------------------------------------------------------------------------------------


def test_a_run_reading_from_sql_trains_on_the_real_worker_and_shows_no_password(
    owner_api, source, celery_worker_process
):
    connection_id = save(owner_api, source).json()["id"]

    response = start(owner_api, sql_graph("SELECT tenure, spend, churned FROM customers"))
    assert response.status_code == 201, response.content
    run = wait_for_run(owner_api, response.json()["id"])

    assert run["status"] == "succeeded", run["error"]
    load = next(s for s in run["steps"] if s["node_id"] == "load")
    assert load["params"]["connection_id"] == connection_id and load["always_rerun"] is True
    evaluate = next(s for s in run["steps"] if s["node_id"] == "evaluate")
    assert evaluate["summary"]["metrics"]["n_samples"] == ROWS // 4
    for page in (f"/api/runs/{run['id']}/", f"/runs/{run['id']}/"):
        body = owner_api.get(page).content.decode()
        assert PASSWORD not in body and "password" not in body.lower()


def test_a_run_whose_query_would_write_is_refused_before_it_starts(owner_api, source):
    save(owner_api, source)

    response = start(owner_api, sql_graph("DELETE FROM customers"))

    assert response.status_code == 400
    assert any("not DELETE" in m for m in response.json()["errors"]["load"])
    assert customers(source) == ROWS


def test_an_outsider_cannot_run_a_query_on_another_workspaces_connection(owner_api, outsider_api, source):
    save(owner_api, source)

    response = start(outsider_api, sql_graph("SELECT * FROM customers"))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["load"]
    assert "no connection named 'warehouse'" in errors["load"][0]


def test_columns_parquet_cannot_hold_as_they_are_arrive_as_text(owner, owner_api, source):
    connection_id = save(owner_api, source).json()["id"]
    query = ("SELECT gen_random_uuid() AS u, '{\"a\": 1}'::jsonb AS j, interval '1 day' AS d, "
             "now()::date AS day, NULL::text AS empty")

    frame = run_block(personal(owner).pk, connection_id, query)

    assert isinstance(frame["u"].iloc[0], str) and frame["j"].iloc[0] == "{'a': 1}"
    frame.to_parquet(io.BytesIO())  # what the artifact store does with it
