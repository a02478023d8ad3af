"""Django admin lists every model without errors."""

import pytest
from django.apps import apps
from django.contrib import admin

pytestmark = pytest.mark.django_db


def test_every_model_of_the_app_is_in_the_admin():
    missing = [m.__name__ for m in apps.get_app_config("pipelines").get_models() if m not in admin.site._registry]
    assert missing == []


def test_every_admin_changelist_renders(admin_client):
    for model in apps.get_app_config("pipelines").get_models():
        url = f"/admin/pipelines/{model._meta.model_name}/"
        assert admin_client.get(url).status_code == 200, url
