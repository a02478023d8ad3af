"""The datasets pages: upload a CSV in the browser, see columns and errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.models import Dataset, Membership, Role, Workspace

pytestmark = pytest.mark.django_db


def _csv(data: bytes, name="people.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_uploading_a_csv_shows_its_columns_and_types(client, owner):
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(b"age,city\n31,Oslo\n40,Rome\n")}, follow=True)

    html = response.content.decode()
    dataset = Dataset.objects.get()
    assert response.redirect_chain[-1][0] == f"/datasets/{dataset.pk}/"
    assert "2 rows" in html and "int64" in html and "Oslo" in html
    assert dataset.artifact_id in html


def test_a_bad_csv_is_refused_with_the_line(client, owner):
    client.force_login(owner)

    response = client.post("/datasets/", {"file": _csv(b"a,b\n1,2\n3,4,5\n")})

    assert response.status_code == 400
    assert "line 3" in response.content.decode()
    assert not Dataset.objects.exists()


def test_a_viewer_sees_datasets_but_no_upload_form(client, owner, make_user):
    viewer = make_user("viewer")
    Membership.objects.filter(user=viewer).delete()  # no personal workspace rights either
    Workspace.objects.filter(personal_owner=viewer).delete()
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    client.force_login(owner)
    client.post("/datasets/", {"file": _csv(b"a,b\n1,2\n")})
    client.force_login(viewer)

    html = client.get("/datasets/").content.decode()

    assert "people" in html
    assert 'type="file"' not in html


def test_outsiders_get_404_for_a_dataset(client, owner, outsider):
    client.force_login(owner)
    client.post("/datasets/", {"file": _csv(b"a,b\n1,2\n")})
    client.force_login(outsider)

    assert client.get(f"/datasets/{Dataset.objects.get().pk}/").status_code == 404
    assert "people" not in client.get("/datasets/").content.decode()
