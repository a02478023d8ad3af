"""One error type, one translation: DRF views, plain Django views and pages answer the
same ApplicationError with the same status, body and headers."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from pipelines.errors import ApplicationError, Conflict, Overloaded, Unauthorized

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _refusal() -> ApplicationError:
    return ApplicationError(
        "column 'age' takes numbers; row 2 has 'old'", status=422, field="age", row=2,
        headers={"X-Why": "signature"},
    )


@api_view(["GET"])
@permission_classes([AllowAny])
def _drf_view(request):
    raise _refusal()


def _plain_api_view(request):
    raise _refusal()


def _page_view(request):
    raise Conflict("the pipeline changed since you opened it; reload")


urlpatterns = [
    path("api/translation/drf/", _drf_view),
    path("api/translation/plain/", _plain_api_view),
    path("v2/translation/plain/", _plain_api_view),
    path("translation/page/", _page_view),
]

EXPECTED = {"detail": "column 'age' takes numbers; row 2 has 'old'", "field": "age", "row": 2}


def test_a_drf_view_answers_an_application_error_with_its_status_body_and_headers():
    response = APIClient().get("/api/translation/drf/")

    assert response.status_code == 422
    assert response.json() == EXPECTED
    assert response["X-Why"] == "signature"


def test_a_plain_django_api_view_answers_the_same_json_as_a_drf_view():
    response = APIClient().get("/api/translation/plain/")

    assert response.status_code == 422
    assert response.json() == EXPECTED
    assert response["X-Why"] == "signature"


def test_a_v2_route_adds_the_open_inference_protocols_error_key():
    response = APIClient().get("/v2/translation/plain/")

    assert response.status_code == 422
    assert response.json() == {"error": EXPECTED["detail"], **EXPECTED}


def test_a_page_answers_an_application_error_with_an_html_page_and_its_status(client):
    response = client.get("/translation/page/")

    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Conflict" in html and "The pipeline changed since you opened it; reload" in html
    assert "MLOps Studio" in html  # the site's layout


def test_unauthorized_and_overloaded_carry_the_headers_a_client_needs_to_retry():
    assert Unauthorized("no key").reply() == (
        401, {"detail": "no key"}, {"WWW-Authenticate": 'Bearer realm="predict"'}
    )
    assert Overloaded("busy", retry_after=2).reply() == (503, {"detail": "busy"}, {"Retry-After": "2"})


def test_a_field_given_in_details_is_the_errors_field():
    error = ApplicationError("name is taken", status=409, details={"field": "name"})

    assert error.field == "name"
    assert error.reply() == (409, {"detail": "name is taken", "field": "name"}, {})
