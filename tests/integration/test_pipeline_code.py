"""Pipeline as code (issue 10, item 6): export to YAML or JSON, import, push with a stale check."""

from __future__ import annotations

import json
import random
import string

import pytest
import yaml

from pipelines.demo import DEMO_PIPELINES
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Membership, Pipeline, Role, Schedule, Workspace
from tests.conftest import api_client_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CONTENT_TYPES = {"yaml": "application/yaml", "json": "application/json"}
# Strings YAML would read as something else if they were written unquoted.
TRICKY = ["yes", "no", "on", "null", "~", "1e3", "0x10", "2024-01-01", "12:30", "", " lead", "a: b", "- x",
          "#c", "line\nbreak", 'quo"te', "it's", "ünïcode ✓", "&anchor", "*alias", "!tag", "%", "@", "`", "{}"]


def _create(client, graph: dict, name: str = "exported") -> dict:
    response = client.post("/api/pipelines/", {"name": name, "description": "d", "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _export(client, pipeline_id: int, fmt: str) -> str:
    response = client.get(f"/api/pipelines/{pipeline_id}/export/", {"format": fmt})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(CONTENT_TYPES[fmt])
    return response.content.decode()


def _import(client, text: str, fmt: str, url: str = "/api/pipelines/import/"):
    return client.generic("POST", url, text.encode(), content_type=CONTENT_TYPES[fmt])


def _same_graph(a: dict, b: dict) -> None:
    assert a["nodes"] == b["nodes"]
    assert a["edges"] == b["edges"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("spec", DEMO_PIPELINES, ids=lambda s: s["name"].split(" ")[0].lower())
def test_every_demo_pipeline_survives_export_then_import(spec, fmt, owner_api):
    original = _create(owner_api, spec["graph"](), name=spec["name"])

    imported = _import(owner_api, _export(owner_api, original["id"], fmt), fmt)

    assert imported.status_code == 201, imported.content
    body = imported.json()
    assert body["id"] != original["id"]
    assert (body["name"], body["description"]) == (spec["name"], "d")
    _same_graph(Pipeline.objects.get(pk=body["id"]).graph, spec["graph"]())


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.choice(["int", "float", "str", "tricky", "bool", "none", "list", "dict"] if depth < 3 else
                      ["int", "float", "str", "tricky", "bool", "none"])
    if kind == "int":
        return rng.choice([0, -1, 7, 2**53 + 1, -(2**40), rng.randint(-10**6, 10**6)])
    if kind == "float":
        return rng.choice([0.1, -2.5e-7, 1e21, 3.0, 1 / 3, rng.uniform(-1e6, 1e6)])
    if kind == "str":
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 12)))
    if kind == "tricky":
        return rng.choice(TRICKY)
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "none":
        return None
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _random_key(rng: random.Random) -> str:
    return rng.choice(TRICKY + ["n_estimators", "C", "with space", "ключ"]) or "k"


def _random_graph(rng: random.Random) -> dict:
    builder = GraphBuilder()
    ids = []
    for index in range(rng.randint(1, 12)):
        node_id = f"{rng.choice(TRICKY)}{index}"
        ids.append(node_id)
        params = {_random_key(rng): _random_value(rng) for _ in range(rng.randint(0, 5))}
        options = {"cache": "always_rerun"} if rng.random() < 0.2 else {}
        at = (rng.randint(-500, 500), rng.randint(-500, 500)) if rng.random() < 0.8 else None
        builder.node(node_id, rng.choice(["dataset.builtin", "data.split", "model.train", "no.such.block"]),
                     at=at, params=params, options=options)
    for _ in range(rng.randint(0, len(ids))):
        source, target = rng.sample(ids, 2) if len(ids) > 1 else (ids[0], ids[0])
        builder.edge(f"{source}.{rng.choice(['table', 'train', 'model'])}", f"{target}.{rng.choice(['table', 'x'])}")
    return builder.build()


@pytest.mark.parametrize("seed", range(40))
def test_randomly_generated_graphs_survive_export_then_import_in_both_formats(seed, owner_api):
    rng = random.Random(seed)
    graph = _random_graph(rng)
    original = _create(owner_api, graph)

    for fmt in ("yaml", "json"):
        text = _export(owner_api, original["id"], fmt)
        imported = _import(owner_api, text, fmt)
        assert imported.status_code == 201, (fmt, imported.content, text)
        _same_graph(Pipeline.objects.get(pk=imported.json()["id"]).graph, graph)


def test_the_export_is_stable_and_ordered_for_diffs(owner_api):
    original = _create(owner_api, DEMO_PIPELINES[0]["graph"]())
    owner_api.post(f"/api/pipelines/{original['id']}/schedules/", {"cron": "0 2 * * *"}, format="json")

    first, second = _export(owner_api, original["id"], "yaml"), _export(owner_api, original["id"], "yaml")

    assert first == second
    document = yaml.safe_load(first)
    assert list(document) == [
        "kind", "format", "id", "version", "name", "description", "graph", "schedules", "triggers", "gates"
    ]
    assert document["gates"] == {}  # it registered no model
    assert list(document["graph"]["nodes"][0]) == ["id", "block", "params", "position"]
    assert list(document["graph"]["edges"][0]) == ["source", "source_port", "target", "target_port"]
    assert document["version"] == original["version"]
    assert document["schedules"] == [{"cron": "0 2 * * *", "paused": False}]
    assert json.loads(_export(owner_api, original["id"], "json")) == document


def test_schedules_and_triggers_are_exported_and_imported_again(owner_api):
    upstream = _create(owner_api, {"nodes": [], "edges": []}, name="upstream")
    original = _create(owner_api, DEMO_PIPELINES[0]["graph"]())
    base = f"/api/pipelines/{original['id']}"
    owner_api.post(f"{base}/schedules/", {"every_seconds": 3600, "paused": True}, format="json")
    owner_api.post(f"{base}/triggers/", {"kind": "pipeline", "pipeline": upstream["id"]}, format="json")
    owner_api.post(f"{base}/triggers/", {"kind": "webhook"}, format="json")
    text = _export(owner_api, original["id"], "yaml")
    assert "secret" not in text and "/api/hooks/" not in text

    imported = _import(owner_api, text, "yaml")

    assert imported.status_code == 201, imported.content
    new = imported.json()
    schedules = owner_api.get(f"/api/pipelines/{new['id']}/schedules/").json()
    triggers = owner_api.get(f"/api/pipelines/{new['id']}/triggers/").json()
    assert [(s["every_seconds"], s["paused"]) for s in schedules] == [(3600, True)]
    assert [(t["kind"], t["source_pipeline"]) for t in triggers] == [("pipeline", upstream["id"])]
    assert new["warnings"] and "webhook" in new["warnings"][0]


def test_a_push_applies_the_document_and_a_stale_push_answers_409(owner_api):
    original = _create(owner_api, DEMO_PIPELINES[0]["graph"]())
    url = f"/api/pipelines/{original['id']}/import/"
    document = yaml.safe_load(_export(owner_api, original["id"], "yaml"))
    document["graph"]["nodes"][0]["params"]["name"] = "iris"
    document["schedules"] = [{"every_seconds": 60}]

    pushed = _import(owner_api, yaml.safe_dump(document, sort_keys=False), "yaml", url)
    again = _import(owner_api, yaml.safe_dump(document, sort_keys=False), "yaml", url)

    assert pushed.status_code == 200, pushed.content
    assert pushed.json()["version"] == original["version"] + 1
    assert pushed.json()["graph"]["nodes"][0]["params"]["name"] == "iris"
    assert Schedule.objects.get(pipeline_id=original["id"]).every_seconds == 60
    assert again.status_code == 409, again.content
    assert again.json()["current_version"] == original["version"] + 1
    assert Pipeline.objects.get(pk=original["id"]).version == original["version"] + 1


def test_a_push_without_version_or_to_another_pipeline_is_a_400(owner_api):
    a, b = _create(owner_api, {"nodes": [], "edges": []}, "a"), _create(owner_api, {"nodes": [], "edges": []}, "b")
    document = yaml.safe_load(_export(owner_api, a["id"], "yaml"))

    other = _import(owner_api, yaml.safe_dump(document), "yaml", f"/api/pipelines/{b['id']}/import/")
    del document["version"]
    unversioned = _import(owner_api, yaml.safe_dump(document), "yaml", f"/api/pipelines/{a['id']}/import/")

    assert other.status_code == 400 and other.json()["field"] == "id"
    assert unversioned.status_code == 400 and unversioned.json()["field"] == "version"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("name: [unclosed", "body"),
        ("a: &x [1]\nb: *x\n", "body"),
        ("name: p\ngraph: {nodes: [], edges: []}\nblob: !!binary aGVsbG8=\n", "body"),
        ("name: p\ngraph: {nodes: [], edges: []}\nwhen: !!timestamp 2024-01-01\n", "body"),
        ("name: p\ngraph: {nodes: [{id: a, block: b, params: {x: .nan}}], edges: []}\n", "graph.nodes[0].params.x"),
        ("name: p\ngraph: {nodes: [], edges: []}\n1: numeric key\n", "body"),
        ("- just\n- a list\n", "body"),
        ("graph: {nodes: [], edges: []}\n", "name"),
        ("name: p\ngraph: [1, 2]\n", "graph"),
        ("name: p\ngraph: {nodes: [{id: a, block: b, params: }], edges: []}\n", "graph.nodes[0].params"),
        ("name: p\ngraph: {nodes: [{id: a, block: b, position: [1, 2]}], edges: []}\n", "graph.nodes[0].position"),
        ("name: p\ngraph: {nodes: 3}\n", "graph"),
        ("name: p\ngraph: {nodes: [], edges: []}\nschedules: [{cron: '99 * * * *'}]\n", "schedules[0].cron"),
        ("name: p\ngraph: {nodes: [], edges: []}\nschedules: [{every_seconds: 1}]\n", "schedules[0].every_seconds"),
        ("name: p\ngraph: {nodes: [], edges: []}\ntriggers: [{kind: dataset, dataset: nope}]\n", "triggers[0].dataset"),
        ("name: p\ngraph: {nodes: [], edges: []}\n---\nname: q\n", "body"),
        ("name: p\ngraph: {nodes: [], edges: []}\nkind: something/else\n", "kind"),
        ("\xff\xfe".encode("latin-1").decode("latin-1"), "body"),
    ],
)
def test_bad_documents_are_a_400_naming_the_field(body, field, owner_api):
    response = owner_api.generic("POST", "/api/pipelines/import/", body.encode("latin-1" if "\xff" in body else "utf-8"),
                                 content_type="application/yaml")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field, response.json()
    assert not Pipeline.objects.exists()


def test_deep_yaml_is_refused_before_it_is_built(owner_api):
    deep = "name: p\ngraph: {nodes: [], edges: []}\nx: " + "[" * 40 + "]" * 40 + "\n"
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"

    for body in (deep, bomb):
        response = owner_api.generic("POST", "/api/pipelines/import/", body.encode(), content_type="application/yaml")
        assert response.status_code == 400 and response.json()["field"] == "body"


def test_a_date_like_string_stays_a_string(owner_api):
    body = "name: '2024'\ngraph:\n  nodes:\n  - {id: a, block: b, params: {when: 2024-01-01, n: 1e3}}\n  edges: []\n"

    response = owner_api.generic("POST", "/api/pipelines/import/", body.encode(), content_type="application/yaml")

    assert response.status_code == 201, response.content
    assert response.json()["graph"]["nodes"][0]["params"] == {"when": "2024-01-01", "n": "1e3"}


def test_roles_export_for_members_import_for_editors(owner, owner_api, outsider_api, make_user):
    viewer = make_user("viewer")
    workspace = Workspace.objects.get(personal_owner=owner)
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    viewer_api = api_client_for(viewer)
    original = _create(owner_api, DEMO_PIPELINES[0]["graph"]())
    text = _export(owner_api, original["id"], "yaml")

    assert viewer_api.get(f"/api/pipelines/{original['id']}/export/").status_code == 200
    assert outsider_api.get(f"/api/pipelines/{original['id']}/export/").status_code == 404
    into_owner = f"/api/pipelines/import/?workspace={workspace.pk}"
    assert _import(viewer_api, text, "yaml", into_owner).status_code == 403
    assert _import(outsider_api, text, "yaml", into_owner).status_code == 404
    assert _import(viewer_api, text, "yaml", f"/api/pipelines/{original['id']}/import/").status_code == 403
    assert _import(outsider_api, text, "yaml").status_code == 201  # into their own workspace


def test_unknown_format_and_content_type_are_refused(owner_api):
    original = _create(owner_api, {"nodes": [], "edges": []})

    bad_format = owner_api.get(f"/api/pipelines/{original['id']}/export/", {"format": "xml"})
    bad_type = owner_api.generic("POST", "/api/pipelines/import/", b"name: p", content_type="text/plain")

    assert bad_format.status_code == 400 and bad_format.json()["field"] == "format"
    assert bad_type.status_code == 415
