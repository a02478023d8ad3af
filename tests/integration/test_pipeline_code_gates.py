"""Pipeline as code carries the gates of the models the pipeline registers into, and sets them again."""

from __future__ import annotations

import json

import pytest
import yaml

from pipelines.models import Pipeline, RegisteredModel
from tests.integration.serving_factories import register, trained_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CONTENT_TYPES = {"yaml": "application/yaml", "json": "application/json"}
GATES = [
    {"kind": "min_rows", "value": 3, "blocking": True},
    {"kind": "schema_compatible", "blocking": False},
    {"kind": "latency_p95_ms", "value": 250, "blocking": True},
]


@pytest.fixture
def gated(isolated_store, owner, owner_api) -> Pipeline:
    """Pipeline ``p`` whose run trained version 1 of model ``m``; ``m`` has ``GATES``."""
    run = trained_run(owner)
    register(owner_api, run, "m")
    response = owner_api.put("/api/registered-models/m/gates/", {"checks": GATES}, format="json")
    assert response.status_code == 200, response.content
    return run.pipeline


def _export(client, pipeline_id: int, fmt: str) -> str:
    response = client.get(f"/api/pipelines/{pipeline_id}/export/", {"format": fmt})
    assert response.status_code == 200, response.content
    return response.content.decode()


def _post(client, url: str, document: dict, fmt: str = "json"):
    text = json.dumps(document) if fmt == "json" else yaml.safe_dump(document, sort_keys=False)
    return client.generic("POST", url, text.encode(), content_type=CONTENT_TYPES[fmt])


def _gates(client, name: str = "m") -> list[dict]:
    return client.get(f"/api/registered-models/{name}/gates/").json()["checks"]


def test_the_export_carries_the_gates_of_the_model_the_pipeline_registers_into(gated, owner_api):
    stored = _gates(owner_api)

    document = yaml.safe_load(_export(owner_api, gated.pk, "yaml"))

    assert list(document)[-1] == "gates"
    assert document["gates"] == {"m": {"checks": stored}}
    assert [g["kind"] for g in document["gates"]["m"]["checks"]] == [g["kind"] for g in GATES]
    assert json.loads(_export(owner_api, gated.pk, "json"))["gates"] == document["gates"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_gives_the_same_gates(gated, owner_api, fmt):
    text = _export(owner_api, gated.pk, fmt)
    before = _gates(owner_api)
    assert owner_api.put("/api/registered-models/m/gates/", {"checks": []}, format="json").status_code == 200

    imported = owner_api.generic("POST", "/api/pipelines/import/", text.encode(), content_type=CONTENT_TYPES[fmt])

    assert imported.status_code == 201, imported.content
    assert imported.json()["warnings"] == []
    assert _gates(owner_api) == before
    assert yaml.safe_load(_export(owner_api, gated.pk, "yaml"))["gates"] == {"m": {"checks": before}}


def test_a_push_sets_the_gates_the_document_names(gated, owner_api):
    document = json.loads(_export(owner_api, gated.pk, "json"))
    document["gates"]["m"]["checks"] = [{"kind": "min_rows", "value": 1000, "blocking": False}]

    pushed = _post(owner_api, f"/api/pipelines/{gated.pk}/import/", document)

    assert pushed.status_code == 200, pushed.content
    assert _gates(owner_api) == [{"kind": "min_rows", "value": 1000.0, "blocking": False}]


def test_gates_of_a_model_the_workspace_does_not_have_are_a_warning(gated, owner_api):
    document = json.loads(_export(owner_api, gated.pk, "json"))
    document["gates"]["elsewhere"] = {"checks": GATES}
    del document["id"], document["version"]

    imported = _post(owner_api, "/api/pipelines/import/", document)

    assert imported.status_code == 201, imported.content
    assert any("elsewhere" in w for w in imported.json()["warnings"])
    assert not RegisteredModel.objects.filter(name="elsewhere").exists()


@pytest.mark.parametrize(
    ("gates", "field"),
    [
        ([], "gates"),
        ({"m": []}, "gates.m.checks"),
        ({"m": {"checks": "min_rows"}}, "gates.m.checks"),
        ({"m": {"checks": [], "extra": 1}}, "gates.m.extra"),
        ({"m": {"checks": [{"kind": "nope"}]}}, "gates.m.checks[0].kind"),
        ({"m": {"checks": [{"kind": "metric_min", "metric": "accuracy", "value": 0.9}]}}, "gates.m.checks[0].metric"),
    ],
)
def test_bad_gates_in_a_document_are_a_400_naming_the_field_and_change_nothing(gated, owner_api, gates, field):
    document = json.loads(_export(owner_api, gated.pk, "json"))
    document["gates"] = gates
    before = (_gates(owner_api), Pipeline.objects.count())

    response = _post(owner_api, "/api/pipelines/import/", document, fmt="yaml")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert (_gates(owner_api), Pipeline.objects.count()) == before


def test_a_viewer_can_export_the_gates_but_not_push_them(gated, owner_api, viewer):
    from tests.conftest import api_client_for

    client = api_client_for(viewer)
    document = json.loads(_export(client, gated.pk, "json"))
    document["gates"]["m"]["checks"] = []

    assert _post(client, f"/api/pipelines/{gated.pk}/import/", document).status_code == 403
    assert len(_gates(owner_api)) == len(GATES)
