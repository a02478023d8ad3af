"""A file in the artifact store that the system did not write is never served or unpickled."""

from __future__ import annotations

import io

import joblib
import pytest

from pipelines.services.artifacts import artifact_store
from tests.integration.world import trained_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]


class LeavesATrace:
    """Unpickling this object creates the file ``marker``: proof that it was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_tampered_table_artifact_is_a_404_on_the_download_page(world, viewer, client):
    run = world["run"]
    sha = run.steps.get(node_id="load").outputs["table"]["sha256"]
    artifact_store().path(sha).write_bytes(b"tampered")
    client.force_login(viewer)

    assert client.get(f"/runs/{run.pk}/steps/load/outputs/table/").status_code == 404


def test_registering_a_tampered_model_artifact_is_a_409_and_never_unpickles_it(
    owner, owner_api, tmp_path
):
    marker = tmp_path / "unpickled"
    run = trained_run(owner)
    sha = run.steps.get(node_id="train").outputs["model"]["sha256"]
    planted = io.BytesIO()
    joblib.dump(LeavesATrace(marker), planted)
    artifact_store().path(sha).write_bytes(planted.getvalue())

    response = owner_api.post(
        "/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json"
    )

    assert response.status_code == 409
    assert not marker.exists()
