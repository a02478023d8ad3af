"""Shadow traffic: mirror answered requests to another version, off the serving process.

A request appends (variant, frame, request id, answered predictions) to an
in-process deque — no I/O, no model call. A daemon thread wakes every
``SERVING_SHADOW_FLUSH_SECONDS`` and sends each shadowed version's pending
requests as one message to a worker (``services.dispatch.enqueue_shadow`` →
``services.shadow.shadow_record``), which predicts them in one batch, compares
with what the answering version said and writes ``ShadowPrediction`` rows. So
the serving process spends a few microseconds per mirrored request and never
runs the shadow model: the champion's latency does not depend on the challenger.
The queue is bounded: when mirroring cannot keep up, the oldest mirrored
requests are dropped (counted in ``dropped``), never the live ones slowed.
``shadow_flush()`` sends what is queued now, in the calling thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime

import numpy as np

logger = logging.getLogger(__name__)

FLUSH_SECONDS = float(os.environ.get("SERVING_SHADOW_FLUSH_SECONDS", "0.2"))
MAX_QUEUED = int(os.environ.get("SERVING_SHADOW_MAX_QUEUED", "20000"))
MAX_BATCH_ROWS = 5000

_queue: deque = deque(maxlen=MAX_QUEUED)
_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
dropped = 0


def shadow_submit(served, frame, request_id: str, predictions: list) -> None:
    """Mirror one answered request to ``served.shadow`` (``served`` is the answering version)."""
    global dropped
    if len(_queue) == MAX_QUEUED:
        dropped += 1
    # Float rows are kept as one small array, not the DataFrame: fewer live objects
    # for the garbage collector to walk while requests wait for the next batch.
    rows = frame.to_numpy(dtype=np.float64) if served.signature.all_float else frame
    _queue.append((served, rows, request_id, predictions, time.time()))
    if _thread is None or _thread_pid != os.getpid():
        _start()


def _start() -> None:
    global _thread, _thread_pid
    with _lock:
        if _thread is not None and _thread_pid == os.getpid():
            return
        _thread_pid = os.getpid()
        _thread = threading.Thread(target=_loop, name="shadow-mirror", daemon=True)
        _thread.start()


def _loop() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            shadow_flush()
        except Exception:  # noqa: BLE001 - the mirror must never take the process down
            logger.exception("shadow: a batch could not be sent")


def _rows(frames: list, all_float: bool) -> str:
    """The rows as one JSON array of arrays: serialised once per batch by orjson (or
    pandas), so the broker's JSON encoder only copies a string."""
    if all_float:
        import orjson

        return orjson.dumps(np.vstack(frames), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    import pandas as pd

    batch = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return batch.to_json(orient="values", date_format="iso")


def shadow_flush() -> int:
    """Send every queued mirrored request to the workers now; returns how many were sent."""
    from ..services.dispatch import enqueue_shadow

    with _lock:
        items = list(_queue)
        _queue.clear()
    groups: dict[tuple[int, int], list] = {}
    for item in items:
        served = item[0]
        groups.setdefault((served.deployment_id, served.shadow.model_version_id), []).append(item)
    sent = 0
    for group in groups.values():
        for start in range(0, len(group), MAX_BATCH_ROWS):
            chunk = group[start:start + MAX_BATCH_ROWS]
            served = chunk[0][0]
            frames = [c[1] for c in chunk]
            enqueue_shadow({
                "deployment": served.deployment_id,
                "model_version": served.shadow.model_version_id,
                "answered_by": served.model_version_id,
                "columns": list(served.signature.columns),
                "rows": _rows(frames, served.signature.all_float),
                "sizes": [len(f) for f in frames],
                "request_ids": [c[2] for c in chunk],
                "answered": [c[3] for c in chunk],
                "at": [datetime.fromtimestamp(c[4], UTC).isoformat() for c in chunk],
            })
            sent += len(chunk)
    return sent
