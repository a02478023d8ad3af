"""The audit trail: one event per audited action, a hash chain that detects edits, no forks.

Actions go through the real API (PostgreSQL); models come from real signed
artifacts stored by a run made directly (no worker needed to register them).
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import AuditEvent, Membership, Role
from pipelines.services.audit import audit_record, audit_verify
from tests.conftest import api_client_for
from tests.integration.world import personal, trained_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


class Trail:
    """Asserts the actions written since the last check, in order."""

    def __init__(self, workspace_id: int):
        self.workspace_id, self.seen = workspace_id, 0

    def expect(self, *actions: str) -> list[AuditEvent]:
        new = list(AuditEvent.objects.filter(workspace_id=self.workspace_id, seq__gt=self.seen).order_by("seq"))
        assert [e.action for e in new] == list(actions)
        if new:
            self.seen = new[-1].seq
        return new


def test_every_audited_action_writes_exactly_one_event(owner, owner_api, make_user):
    workspace = personal(owner)
    trail = Trail(workspace.pk)
    graph = DEMO_PIPELINES[0]["graph"]()

    pipeline = owner_api.post("/api/pipelines/", {"name": "audited", "graph": graph}, format="json").json()
    [created] = trail.expect("pipeline.create")
    assert (created.actor_name, created.target_type, created.target_id) == ("owner", "pipeline", str(pipeline["id"]))
    assert owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"description": "d"}, format="json",
                           HTTP_IF_MATCH='"1"').status_code == 200
    [updated] = trail.expect("pipeline.update")
    assert updated.details == {"fields": ["description"], "version": 2}

    run = owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()
    _, started = trail.expect("pipeline.version", "run.start")
    assert started.details["trigger"] == "api"
    assert owner_api.post(f"/api/runs/{run['id']}/cancel/").status_code == 200
    trail.expect("run.cancel")
    retried = owner_api.post(f"/api/runs/{run['id']}/retry/")
    assert retried.status_code in (200, 201), retried.content
    [retry] = trail.expect("run.retry")
    assert retry.details["retry_of"] == run["id"]
    owner_api.post(f"/api/runs/{retried.json()['id']}/cancel/")
    trail.expect("run.cancel")

    upload = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("t.csv", b"a,b\n1,2\n3,4\n")},
                            format="multipart")
    assert upload.status_code == 201, upload.content
    [uploaded] = trail.expect("dataset.upload")
    assert uploaded.details["rows"] == 2 and len(uploaded.details["sha256"]) == 64
    copied = owner_api.post(f"/api/datasets/{upload.json()['id']}/duplicate/", {}, format="json")
    assert copied.status_code == 201, copied.content
    [duplicate] = trail.expect("dataset.duplicate")
    assert duplicate.details["duplicate_of"] == upload.json()["id"]

    trained = trained_run(owner)
    v1 = owner_api.post("/api/models/", {"name": "m", "run": trained.pk, "node": "train"}, format="json").json()
    v2 = owner_api.post("/api/models/", {"name": "m", "run": trained.pk, "node": "train"}, format="json").json()
    trail.expect("model.register", "model.register")

    gates = {"checks": [{"kind": "min_rows", "value": 10**9, "blocking": True}]}
    assert owner_api.put("/api/registered-models/m/gates/", gates, format="json").status_code == 200
    trail.expect("model.gates_set")
    refused = owner_api.post("/api/registered-models/m/versions/1/promote/", {"alias": "champion"}, format="json")
    assert refused.status_code == 422
    trail.expect()  # a refused promotion changes nothing (its gate results are kept with the version)
    promoted = owner_api.post("/api/registered-models/m/versions/1/promote/",
                              {"alias": "champion", "override": True, "reason": "pilot"}, format="json")
    assert promoted.status_code == 200, promoted.content
    [promotion] = trail.expect("model.promote")
    assert promotion.details["override"] is True and promotion.details["reason"] == "pilot"

    deploy = owner_api.post("/api/deployments/", {"name": "aud", "model_version": v1["id"], "override": True,
                                                  "reason": "pilot"}, format="json")
    assert deploy.status_code == 201, deploy.content
    [deployed] = trail.expect("deployment.deploy")
    assert deployed.details["override"] is True and deployed.details["version"] == 1
    owner_api.post("/api/deployments/", {"name": "aud", "model_version": v2["id"], "override": True,
                                         "reason": "pilot"}, format="json")
    trail.expect("deployment.deploy")
    assert owner_api.post("/api/deployments/aud/rollback/", {}, format="json").status_code == 200
    [rollback] = trail.expect("deployment.rollback")
    assert rollback.details["restores"] == 1

    follow = owner_api.post("/api/deployments/", {"name": "aud-follow", "model": "m", "alias": "champion"},
                            format="json")
    assert follow.status_code == 201, follow.content
    trail.expect("deployment.deploy")
    owner_api.post("/api/registered-models/m/versions/2/promote/",
                   {"alias": "challenger", "override": True, "reason": "canary"}, format="json")
    trail.expect("model.promote")
    split = owner_api.put("/api/deployments/aud-follow/traffic/", {"split": {"champion": 90, "challenger": 10}},
                          format="json")
    assert split.status_code == 200, split.content
    [traffic] = trail.expect("deployment.traffic")
    assert traffic.details["traffic"] == {"split": {"champion": 90, "challenger": 10}}

    key = owner_api.post("/api/deployments/aud/keys/", {"name": "ci"}, format="json").json()
    trail.expect("key.create")
    owner_api.delete(f"/api/deployments/aud/keys/{key['id']}/")
    owner_api.delete(f"/api/deployments/aud/keys/{key['id']}/")  # idempotent: no second event
    trail.expect("key.revoke")

    make_user("carol")
    members = f"/api/workspaces/{workspace.pk}/members/"
    owner_api.post(members, {"username": "carol", "role": "viewer"}, format="json")
    owner_api.post(members, {"username": "carol", "role": "viewer"}, format="json")  # no change, no event
    owner_api.post(members, {"username": "carol", "role": "editor"}, format="json")
    assert owner_api.delete(f"{members}carol/").status_code == 204
    added, changed, removed = trail.expect("member.set", "member.set", "member.remove")
    assert (added.details["added"], changed.details["role"], removed.details["username"]) == (True, "editor", "carol")

    assert owner_api.delete(f"/api/pipelines/{pipeline['id']}/").status_code == 204
    trail.expect("pipeline.delete")

    assert owner_api.get(f"/api/workspaces/{workspace.pk}/audit/verify/").json() == {
        "ok": True, "events": trail.seen,
    }


def _events(owner, n: int) -> list[AuditEvent]:
    workspace = personal(owner)
    return [
        audit_record(workspace_id=workspace.pk, user=owner, action="pipeline.create", target_type="pipeline",
                     target_id=i, details={"name": f"p{i}", "score": 0.1 * i})
        for i in range(n)
    ]


def test_altering_a_row_in_the_database_makes_verify_fail_at_that_row(owner, owner_api):
    events = _events(owner, 5)
    url = f"/api/workspaces/{personal(owner).pk}/audit/verify/"
    assert owner_api.get(url).json() == {"ok": True, "events": 5}

    # A tamperer with database access edits the third event's details (bypassing the model).
    AuditEvent.objects.filter(pk=events[2].pk).update(details={"name": "innocent"})
    answer = owner_api.get(url).json()
    assert answer["ok"] is False
    assert (answer["broken"]["seq"], answer["broken"]["id"]) == (3, events[2].pk)
    assert "hash" in answer["broken"]["reason"]


def test_recomputing_a_hash_or_deleting_a_row_still_breaks_the_chain(owner):
    events = _events(owner, 4)
    workspace_id = events[0].workspace_id
    with connection.cursor() as cursor:  # rewrite event 2 and its own hash: event 3's prev_hash no longer matches
        cursor.execute("UPDATE pipelines_auditevent SET actor_name = 'someone', hash = %s WHERE id = %s",
                       ["f" * 64, events[1].pk])
    result = audit_verify(workspace_id=workspace_id)
    assert result["ok"] is False and result["broken"]["seq"] == 2
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pipelines_auditevent SET actor_name = 'owner', hash = %s WHERE id = %s",
                       [events[1].hash, events[1].pk])
    assert audit_verify(workspace_id=workspace_id)["ok"] is True
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pipelines_auditevent WHERE id = %s", [events[2].pk])
    result = audit_verify(workspace_id=workspace_id)
    assert result["ok"] is False and "missing" in result["broken"]["reason"]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pipelines_auditevent WHERE id = %s", [events[3].pk])
    result = audit_verify(workspace_id=workspace_id)  # the tail is gone: the head knows
    assert result["ok"] is False and result["broken"]["seq"] == 3


def test_events_cannot_be_changed_or_deleted_through_the_model(owner):
    from pipelines.models.delivery import ImmutableError

    [event] = _events(owner, 1)
    event.action = "run.start"
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()


def test_concurrent_writers_append_one_chain_without_forks(owner):
    workspace_id = personal(owner).pk
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            barrier.wait()
            for j in range(10):
                audit_record(workspace_id=workspace_id, user=owner, action="run.start", target_type="run",
                             target_id=f"{i}-{j}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = list(AuditEvent.objects.filter(workspace_id=workspace_id).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 61))
    assert audit_verify(workspace_id=workspace_id) == {"ok": True, "events": 60}


def test_audit_api_admins_only_filters_and_csv(owner, owner_api, make_user, outsider_api):
    workspace = personal(owner)
    editor = make_user("ed")
    Membership.objects.create(workspace=workspace, user=editor, role=Role.EDITOR)
    _events(owner, 3)
    audit_record(workspace_id=workspace.pk, user=editor, action="run.start", target_type="run", target_id=7)
    url = f"/api/workspaces/{workspace.pk}/audit/"

    assert api_client_for(editor).get(url).status_code == 403
    assert api_client_for(editor).get(url + "verify/").status_code == 403
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.get(url + "verify/").status_code == 404

    page = owner_api.get(url).json()
    assert page["count"] == 4 and [e["seq"] for e in page["results"]] == [4, 3, 2, 1]
    assert {"actor", "action", "created_at", "target_type", "target_id", "details", "hash"} <= set(page["results"][0])
    assert [e["actor"] for e in owner_api.get(url, {"actor": "ed"}).json()["results"]] == ["ed"]
    assert owner_api.get(url, {"action": "pipeline.create"}).json()["count"] == 3
    assert owner_api.get(url, {"action": "run."}).json()["count"] == 1
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert owner_api.get(url, {"since": future}).json()["count"] == 0

    for params, field in (({"since": "yesterday"}, "since"), ({"since": ""}, "since"), ({"action": "drop.tables"}, "action"),
                          ({"format": "xml"}, "format"), ({"limit": "0"}, "limit")):
        bad = owner_api.get(url, params)
        assert bad.status_code == 400, (params, bad.content)
        assert field in bad.content.decode()

    exported = owner_api.get(url, {"format": "csv", "action": "pipeline."})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [r["seq"] for r in rows] == ["3", "2", "1"] and rows[0]["actor"] == "owner"


def test_concurrent_audited_actions_do_not_deadlock(owner):
    """Runs started (an insert referencing the workspace) while pipelines are duplicated (the
    workspace row locked for the name check): audit writes come last, so neither waits for
    the other while holding the chain head."""
    from pipelines.models import Pipeline
    from pipelines.services.pipelines import pipeline_create, pipeline_duplicate
    from pipelines.services.runs import run_start

    workspace = personal(owner)
    pipeline = pipeline_create(workspace=workspace, user=owner, name="base", graph=DEMO_PIPELINES[0]["graph"]())
    run_start(pipeline=pipeline, user=owner, use_cache=False)  # version 1 exists: the threads lock it
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(6):
                target = Pipeline.objects.get(pk=pipeline.pk)
                if (i + j) % 2:
                    pipeline_duplicate(pipeline=target, user=owner, name=f"copy {i}-{j}")
                else:
                    Pipeline.objects.filter(pk=pipeline.pk).update(description=f"{i}-{j}")
                    run_start(pipeline=target, user=owner, use_cache=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, "\n".join(str(e) for e in errors)
    assert AuditEvent.objects.filter(workspace=workspace, action="run.start").count() == 13
    assert AuditEvent.objects.filter(workspace=workspace, action="pipeline.create").count() == 13
    assert audit_verify(workspace_id=workspace.pk)["ok"] is True
