"""The demo pipelines: their graphs are exactly what was shipped before (key order included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.demo import DEMO_PIPELINES

SNAPSHOT = json.loads((Path(__file__).parent / "snapshots" / "demo_graphs.json").read_text())


def test_every_demo_pipeline_has_a_snapshot_and_no_snapshot_is_left_over():
    assert [spec["name"] for spec in DEMO_PIPELINES] == list(SNAPSHOT)


@pytest.mark.parametrize("spec", DEMO_PIPELINES, ids=lambda spec: spec["name"])
def test_a_demo_graph_serialises_byte_for_byte_like_the_shipped_one(spec):
    assert json.dumps(spec["graph"]()) == json.dumps(SNAPSHOT[spec["name"]])


def test_each_call_returns_a_fresh_graph_that_callers_may_change():
    spec = DEMO_PIPELINES[0]
    spec["graph"]()["nodes"][0]["params"]["name"] = "changed"

    assert json.dumps(spec["graph"]()) == json.dumps(SNAPSHOT[spec["name"]])
