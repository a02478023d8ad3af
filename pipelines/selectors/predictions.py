"""Reading logged predictions as a table, from the columnar copy (``serving.columnar``)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ..models import Deployment
from ..services.artifacts import artifact_store
from ..serving import columnar


def prediction_frame(deployment: Deployment | int, start: datetime, end: datetime,
                     columns: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """The deployment's logged rows with ``start <= created_at < end`` (UTC; a naive
    datetime is taken as UTC), oldest first, at most ``limit`` of them.

    One row per predicted input row: ``request_id``, ``row``, ``created_at``,
    ``model_version_id``, ``model_version``, ``latency_ms``, ``status``, the input
    columns (only ``columns`` if given), ``prediction`` and, for classifiers,
    ``probabilities``. A refused request is one row with ``status`` ≥ 400 and nulls.
    Read with pyarrow from Parquet in the artifact store (hour folders outside the range are not opened,
    rows outside it are filtered in the reader): no JSON is decoded. Rows appear
    here when a drainer has written them (about ``PREDICTION_LOG_DRAIN_SECONDS``
    after the prediction). The caller has checked access to the deployment.
    """
    deployment_id = deployment if isinstance(deployment, int) else deployment.pk
    return columnar.frame_read(artifact_store().backend, deployment_id, start, end, columns=columns, limit=limit)
