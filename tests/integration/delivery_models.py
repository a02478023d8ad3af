"""Test models for delivery: real, signed scikit-learn Pipelines stored by runs made directly.

Module-level helpers (``slow_identity``) are pickled by reference, so the serving
process that unpickles a model imports them from here.
"""

from __future__ import annotations

import time

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import FunctionTransformer

from pipelines.models import (
    Pipeline,
    PipelineVersion,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
    Workspace,
)
from pipelines.services.artifacts import artifact_store, artifacts_record

# The latency ``slow`` injects per prediction. Read at each call, in the process that
# serves, so a test can raise it above what a loaded machine adds to every prediction.
SLOW_SECONDS = 0.015


def slow_identity(x):
    """A preprocessing step that sleeps ``SLOW_SECONDS`` per call: a model with injected latency."""
    time.sleep(SLOW_SECONDS)
    return x


def trained_run(user, columns: list[str], *, flip: bool = False, slow: bool = False) -> Run:
    """A succeeded run (made directly) whose ``train`` step stored a real, signed model of
    ``columns``; ``flip`` learns the opposite labels, ``slow`` adds ``SLOW_SECONDS`` per prediction."""
    workspace = Workspace.objects.get(personal_owner=user)
    pipeline = Pipeline.objects.create(workspace=workspace, name="p", graph={"nodes": [], "edges": []},
                                       created_by=user)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
    run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                             status=RunStatus.SUCCEEDED, created_by=user, steps_total=2, steps_done=2)
    table = pd.DataFrame({c: [0.0, 1, 2, 3, 4, 5] for c in columns})
    table["target"] = [1, 1, 1, 0, 0, 0] if flip else [0, 0, 0, 1, 1, 1]
    steps = [("slow", FunctionTransformer(slow_identity))] if slow else []
    model = SkPipeline([*steps, ("lr", LogisticRegression())]).fit(table[columns], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1",
                           position=0, status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1", position=1,
                           status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                           params={"target": "target"}, outputs={"model": model_ref.as_ref()})
    return run
