"""Recording a shadowed version's answers to mirrored requests (runs on a worker).

``serving.shadow`` batches what the answering version served and sends it here
(task ``pipelines.shadow_record``). The shadowed version predicts the whole batch
in one call with the process's cached model; each request gets a
``ShadowPrediction``: its answers, the share of rows where it agreed with the
answering version, and its share of the batch's prediction time. A batch the
version cannot predict (columns it does not take, a model that fails) is
recorded with the error for every request, never retried (the data will not change).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import ApplicationError
from ..models import ModelVersion, ShadowPrediction


def _same(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    try:
        return np.isclose(mine.astype(float), theirs.astype(float), rtol=1e-9, atol=0)
    except (TypeError, ValueError):
        return mine.astype(object) == theirs.astype(object)


def shadow_record(*, payload: dict[str, Any]) -> int:
    """Predict a mirrored batch with the shadowed version and store its answers; returns rows written."""
    from ..serving.coerce import Signature, frame_from_body
    from ..serving.runner import run
    from ..serving.state import model_get

    version = ModelVersion.objects.filter(pk=payload["model_version"]).first()
    if version is None:
        return 0  # deleted since: nothing to compare
    sizes = payload["sizes"]
    total = sum(sizes)
    started = time.perf_counter()
    predicted, error = None, ""
    try:
        sig = Signature(version.signature, max_rows=max(total, 1))
        rows = payload["rows"]
        rows = json.loads(rows) if isinstance(rows, str) else rows  # one JSON string per batch
        frame = frame_from_body({"dataframe_split": {"columns": payload["columns"], "data": rows}}, sig)
        raw, _ = run(model_get(version.artifact_sha256), frame, sig.columns, all_float=sig.all_float,
                     want_proba=False)
        predicted = raw
    except ApplicationError as exc:
        error = exc.message
    except (ValueError, TypeError, KeyError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    per_row_ms = (time.perf_counter() - started) * 1000.0 / max(total, 1)
    agreement = None
    if predicted is not None:
        answered = np.asarray([a for answers in payload["answered"] for a in answers], dtype=object)
        if len(answered) == total and total:
            same = _same(predicted, answered).astype(float)
            offsets = np.cumsum([0, *sizes[:-1]])
            agreement = np.add.reduceat(same, offsets) / np.asarray(sizes, dtype=float)
        predicted = predicted.tolist()
    rows, offset = [], 0
    for i, (request_id, size, at) in enumerate(zip(payload["request_ids"], sizes, payload["at"], strict=True)):
        mine = predicted[offset:offset + size] if predicted is not None else None
        offset += size
        rows.append(ShadowPrediction(
            deployment_id=payload["deployment"], model_version=version, answered_by_id=payload["answered_by"],
            request_id=request_id, status=200 if mine is not None else 422, error=error, n_rows=size,
            outputs={"predictions": mine} if mine is not None else None,
            agreement=float(agreement[i]) if agreement is not None else None,
            latency_ms=per_row_ms * size, created_at=datetime.fromisoformat(at),
        ))
    ShadowPrediction.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
