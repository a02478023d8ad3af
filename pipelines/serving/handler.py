"""Prediction requests, independent of the web framework.

The Django views (``pipelines.api.serving``) and the ASGI fast path
(``pipelines.serving.asgi``) both call these functions with the raw body bytes
and the ``Authorization`` header and get back ``(status, body dict, headers)``.
So both paths refuse the same inputs with the same messages, and log the same way.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from django.conf import settings

from ..errors import ApplicationError
from ..inputs import json_depth_refuse
from .coerce import dtype_kind, frame_from_body, frame_from_v2
from .explain import explain as explain_rows
from .logbuffer import LogEntry, prediction_log_enqueue
from .runner import run
from .shadow import shadow_submit
from .state import (
    Served,
    authorize_cached,
    model_cached,
    model_get,
    route,
    served_cached,
    served_for,
    variants,
)

logger = logging.getLogger(__name__)

Reply = tuple[int, dict[str, Any], dict[str, str]]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def parse_json(body: bytes) -> Any:
    """The body as JSON. NaN and Infinity literals are accepted here so that the
    coercion step can name the column that holds them. Empty bodies, NUL characters
    and nesting deeper than ``JSON_MAX_DEPTH`` answer 400."""
    if not body:
        raise ApplicationError("the request body is empty; send JSON", status=400, field="body")
    if b"\\u0000" in body:
        # PostgreSQL cannot store NUL in the prediction log; refuse before predicting.
        raise ApplicationError("the request body holds a NUL character (\\u0000); remove it", status=400, field="body")
    json_depth_refuse(body, limit=settings.JSON_MAX_DEPTH)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApplicationError(f"the request body is not valid JSON: {exc}", status=400, field="body") from exc
    # orjson refuses a lone surrogate (\ud800 unpaired); json accepts it, and no encoder
    # downstream (the prediction log, the response) can write it out again.
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise ApplicationError(
            "the request body holds a lone surrogate (an unpaired \\ud800–\\udfff escape); send valid Unicode",
            status=400, field="body",
        ) from exc
    return value


_id_pid = 0
_id_prefix = ""
_id_counter = itertools.count()


def request_id_for(header: str | None) -> str:
    """The client's X-Request-ID if it is sane, else a new id unique across processes:
    a random per-process prefix and a counter (no system call per request)."""
    global _id_pid, _id_prefix
    if header and _REQUEST_ID.match(header):
        return header
    if _id_pid != os.getpid():
        _id_pid, _id_prefix = os.getpid(), uuid.uuid4().hex[:16]
    return f"{_id_prefix}{next(_id_counter):016x}"


# --- who and what -----------------------------------------------------------------


def prepare_cached(name: str, authorization: str | None):
    """(Served, model) when everything needed is in memory; None otherwise. No I/O."""
    served = served_cached(name)
    if served is None or authorize_cached(served, authorization) is None:
        return None
    model = model_cached(served.artifact_sha256)
    if model is None:
        return None
    return served, model


def prepare(name: str, authorization: str | None, session_user=None):
    """(Served, model) for an allowed caller; raises ApplicationError 401 (bad or no
    credentials, whatever the name), 404 (no such deployment, or not the caller's), 503."""
    served, _ = served_for(name, authorization, session_user)
    for variant in variants(served):  # canary sides and the shadow: loaded before they are needed
        model_get(variant.artifact_sha256)
    return served, model_get(served.artifact_sha256)


def _routed(served: Served, model, request_id: str):
    """(the variant that answers, its model): the canary side ``request_id`` hashes to."""
    chosen = route(served, request_id)
    if chosen is served or chosen.artifact_sha256 == served.artifact_sha256:
        return chosen, model
    return chosen, model_cached(chosen.artifact_sha256) or model_get(chosen.artifact_sha256)


# --- predicting ----------------------------------------------------------------------


def _run_model(served: Served, model, frame) -> tuple[list, np.ndarray | None, np.ndarray]:
    sig = served.signature
    try:
        raw, proba = run(model, frame, sig.columns, all_float=sig.all_float,
                         want_proba=served.task == "classification")
    except (ValueError, TypeError, KeyError) as exc:
        # e.g. a category the encoder never saw: the input's fault, not the server's.
        raise ApplicationError(f"the model could not predict on this input: {exc}", status=422, field="body") from exc
    return raw.tolist(), proba, raw


LOG_PREDICTIONS = os.environ.get("SERVING_LOG_PREDICTIONS", "1").lower() not in ("0", "false", "no", "off")


def _log(served: Served, request_id: str, protocol: str, status: int, error: str, frame,
         outputs: dict | None, started: float) -> None:
    if not LOG_PREDICTIONS:
        return
    prediction_log_enqueue(
        LogEntry(
            deployment_id=served.deployment_id,
            model_version_id=served.model_version_id,
            request_id=request_id,
            protocol=protocol,
            status=status,
            error=error,
            n_rows=0 if frame is None else len(frame),
            inputs=frame,
            outputs=outputs,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            created_at=datetime.now(UTC),
        )
    )


def explain_param(value: str | None) -> bool:
    """``?explain=``: true/false (1/0, yes/no), absent is false; anything else is a 400 naming it."""
    if value is None or value == "":
        return False
    text = value.lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ApplicationError("explain must be true or false", status=400, field="explain")


def predict_json(served: Served, model, body: bytes, *, request_id: str | None = None,
                 started: float | None = None, explain: bool = False) -> Reply:
    """``POST /api/deployments/{name}/predict``: our JSON and MLflow's scoring bodies.

    ``explain``: add ``explanations``, each row's top feature contributions (``serving.explain``)."""
    started = time.perf_counter() if started is None else started
    request_id = request_id_for(request_id)
    frame = None
    try:
        if served.split:
            served, model = _routed(served, model, request_id)
        frame = frame_from_body(parse_json(body), served.signature)
        predictions, proba, raw = _run_model(served, model, frame)
        explanations = explain_rows(served, model, frame, raw) if explain else None
    except ApplicationError as exc:
        _log(served, request_id, "json", exc.status, exc.message, None, None, started)
        status, out, headers = exc.reply()
        return status, {**out, "request_id": request_id}, {**headers, "X-Request-ID": request_id}
    out: dict[str, Any] = {"predictions": predictions}
    if proba is not None:
        out["probabilities"] = proba.tolist()
        out["classes"] = served.classes
    _log(served, request_id, "json", 200, "", frame, out, started)
    if served.shadow is not None:
        shadow_submit(served, frame, request_id, predictions)
    if explanations is not None:
        out["explanations"] = explanations
    return 200, {
        **out,
        "deployment": served.name,
        "revision": served.revision,
        "model": served.model_name,
        "model_version": served.model_version,
        "request_id": request_id,
    }, {"X-Request-ID": request_id}


# --- Open Inference Protocol (KServe V2) ---------------------------------------------

_V2_DATATYPE = {"float": "FP64", "int": "INT64", "bool": "BOOL", "str": "BYTES"}


def _v2_datatype_of(array: np.ndarray) -> str:
    kind = array.dtype.kind
    return {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL"}.get(kind, "BYTES")


def v2_metadata(served: Served) -> dict[str, Any]:
    sig = served.signature
    outputs: list[dict[str, Any]] = [
        {"name": "predict", "datatype": _predict_datatype(served), "shape": [-1]}
    ]
    if served.task == "classification":
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(served.classes or [])]})
    return {
        "name": served.name,
        "versions": [str(served.model_version)],
        "platform": "sklearn",
        "inputs": [
            {"name": c, "datatype": _V2_DATATYPE[k], "shape": [-1]} for c, k in zip(sig.columns, sig.kinds, strict=True)
        ],
        "outputs": outputs,
        "parameters": {
            "model": served.model_name,
            "model_version": served.model_version,
            "revision": served.revision,
            # Also accepted: one 2-D tensor of every feature in this order.
            "batch_input": {"name": "input-0", "shape": [-1, len(sig.columns)], "columns": sig.columns},
            "classes": served.classes,
        },
    }


def _predict_datatype(served: Served) -> str:
    if served.task == "regression":
        return "FP64"
    classes = served.classes or []
    if classes and all(isinstance(c, bool) for c in classes):
        return "BOOL"
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "INT64"
    if classes and all(isinstance(c, int | float) for c in classes):
        return "FP64"
    return "BYTES"


def infer_v2(served: Served, model, body: bytes, *, request_id: str | None = None,
             started: float | None = None) -> Reply:
    """``POST /v2/models/{name}/infer``."""
    started = time.perf_counter() if started is None else started
    frame = None
    rid = request_id_for(request_id)
    try:
        parsed = parse_json(body)
        if served.split:
            body_id = parsed.get("id") if isinstance(parsed, dict) else None
            if isinstance(body_id, str) and _REQUEST_ID.match(body_id):
                rid = body_id
            served, model = _routed(served, model, rid)
        frame, wanted, body_id = frame_from_v2(parsed, served.signature)
        if body_id and _REQUEST_ID.match(body_id):
            rid = body_id
        available = ["predict"] + (["predict_proba"] if served.task == "classification" else [])
        if wanted is not None:
            unknown = [w for w in wanted if w not in available]
            if unknown:
                raise ApplicationError(
                    f"the model has no output {unknown[0]!r}; outputs are: {', '.join(available)}",
                    status=400,
                    field="outputs",
                )
        predictions, proba, raw = _run_model(served, model, frame)
    except ApplicationError as exc:
        _log(served, rid, "v2", exc.status, exc.message, None, None, started)
        status, out, headers = exc.reply(v2=True)
        return status, {**out, "id": rid}, {**headers, "X-Request-ID": rid}
    wanted = wanted or (["predict", "predict_proba"] if proba is not None else ["predict"])
    n = len(predictions)
    tensors = []
    if "predict" in wanted:
        datatype = _v2_datatype_of(raw)
        data = predictions if datatype != "BYTES" else [str(p) for p in predictions]
        tensors.append({"name": "predict", "shape": [n], "datatype": datatype, "data": data})
    if "predict_proba" in wanted and proba is not None:
        tensors.append({
            "name": "predict_proba", "shape": [n, int(proba.shape[1])], "datatype": "FP64",
            "data": proba.ravel().tolist(),
        })
    logged: dict[str, Any] = {"predictions": predictions}
    if proba is not None:
        logged["probabilities"] = proba.tolist()
    _log(served, rid, "v2", 200, "", frame, logged, started)
    if served.shadow is not None:
        shadow_submit(served, frame, rid, predictions)
    return 200, {
        "model_name": served.name,
        "model_version": str(served.model_version),
        "id": rid,
        "parameters": {"revision": served.revision, "model": served.model_name},
        "outputs": tensors,
    }, {"X-Request-ID": rid}


V2_SERVER = {"name": "mlops-studio", "version": "0.1.0", "extensions": []}


def dtype_datatype(dtype: str) -> str:
    return _V2_DATATYPE[dtype_kind(dtype)]
