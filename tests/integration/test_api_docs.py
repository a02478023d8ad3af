"""The API docs page works without internet: Swagger UI comes from our static files."""

from __future__ import annotations

import re
import urllib.request

import pytest

pytestmark = pytest.mark.django_db


def test_api_docs_page_references_only_local_assets_and_each_answers_200(live_server):
    with urllib.request.urlopen(f"{live_server.url}/api/docs/") as response:
        assert response.status == 200
        page = response.read().decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui-bundle" in a for a in assets), page
    assert any(a.endswith(".css") for a in assets), page
    assert "://" not in page, "the docs page names a remote URL: it would be blank offline"
    for asset in assets:
        assert asset.startswith("/static/"), asset
        with urllib.request.urlopen(f"{live_server.url}{asset}") as answer:
            assert answer.status == 200, asset
            assert len(answer.read()) > 0, asset
