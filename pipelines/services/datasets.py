"""Uploading tables as datasets: each upload under a name is that name's next version."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from ..errors import ApplicationError
from ..execution.summaries import PREVIEW_ROWS, json_safe, table_summary
from ..models import Dataset, Workspace
from .artifacts import artifact_store, artifacts_record
from .audit import audit_record
from .dataset_parse import (  # noqa: F401  (re-exported: the parsing API of datasets)
    DECIMALS,
    DELIMITERS,
    ENCODINGS,
    SHORT_LINES,
    CsvError,
    csv_parse,
    csv_read,
    csv_to_parquet,
    detect_delimiter,
    is_parquet,
    parquet_read,
)
from .dataset_profile import HISTOGRAM_BINS, TOP_VALUES, column_profile, table_profile
from .dataset_profile import _short as short_value

# A CSV over this size is converted to Parquet chunk by chunk and profiled
# column by column (the web process holds one chunk or one column, never the
# table); a smaller one is read whole, which is faster.
STREAM_BYTES = 32 * 1024 * 1024


def size_text(n: int) -> str:
    """``"52.4 MB"``, or ``"100 bytes"`` below 0.1 MB."""
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n:,} bytes"


def dataset_check_size(*, size: int) -> None:
    """Refuse (413) an upload over DATASET_MAX_BYTES; call it before reading the file."""
    limit = settings.DATASET_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            f"the file is {size_text(size)}; the limit is {size_text(limit)}", status=413, details={"field": "file"}
        )


def dataset_upload(
    *,
    workspace: Workspace,
    user,
    name: str,
    filename: str,
    data: bytes | BinaryIO,
    delimiter: str = "auto",
    decimal: str = "auto",
    encoding: str = "auto",
    short_lines: str = "refuse",
) -> Dataset:
    """Store ``data`` (CSV or Parquet: bytes, or a seekable binary file such as an
    upload Django spooled to disk) as the next version of dataset ``name`` in ``workspace``.

    A file is read in chunks, never into memory whole. A CSV up to STREAM_BYTES
    is parsed into one DataFrame; a larger one is converted to Parquet chunk by
    chunk (``csv_to_parquet``) and profiled one column at a time, so the process
    holds one chunk or one column, never the table. A Parquet upload is read whole.

    Parquet is recognised by its PAR1 magic bytes (a file named ``.parquet``
    that lacks them is refused as not Parquet); the CSV options do not apply to it.

    The first upload under a name is version 1; each later one is the highest
    version so far + 1 (the workspace row is locked while numbering, so two
    uploads at once get two numbers). Callers holding an upload check its size
    with ``dataset_check_size`` before reading it; this checks again for those
    that did not. The read options (see ``dataset_parse.csv_read``) are
    recorded with "auto" resolved to what was detected.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    size = stream.seek(0, io.SEEK_END)
    dataset_check_size(size=size)
    stream.seek(0)
    if is_parquet(stream) or filename.lower().endswith((".parquet", ".pq")):
        df, read_options = parquet_read(stream), {"format": "parquet"}
    elif size > STREAM_BYTES:
        return _dataset_stream(
            workspace=workspace, user=user, name=name or filename or "dataset", filename=filename, stream=stream,
            csv_options={"delimiter": delimiter, "decimal": decimal, "encoding": encoding, "short_lines": short_lines},
        )
    else:
        df, options = csv_read(
            stream, delimiter=delimiter, decimal=decimal, encoding=encoding, short_lines=short_lines
        )
        read_options = {"format": "csv", **options.as_dict()}
    return _dataset_store(
        workspace=workspace, user=user, name=name or filename or "dataset", filename=filename, df=df,
        read_options=read_options,
    )


def _dataset_stream(
    *, workspace: Workspace, user, name: str, filename: str, stream: BinaryIO, csv_options: dict
) -> Dataset:
    """A large CSV: converted chunk by chunk into a Parquet file beside the artifact
    store (then moved into it), profiled one column at a time from that file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = artifact_store().root
    root.mkdir(parents=True, exist_ok=True)
    fd, target = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".parquet")
    os.close(fd)
    try:
        converted = csv_to_parquet(stream, target, **csv_options)
        parquet = pq.ParquetFile(target)
        profile = {"rows": converted.rows, "columns": []}
        for column in parquet.schema_arrow.names:
            profile["columns"].append(_column_profile(parquet, column))
            pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
        head = next(parquet.iter_batches(batch_size=PREVIEW_ROWS)).to_pandas()
        del parquet
        stored = artifact_store().put_table_file(Path(target))
    finally:
        if os.path.exists(target):
            os.unlink(target)
    artifacts_record([stored])
    summary = {**table_summary(head), "rows": converted.rows}
    return _dataset_create(
        workspace=workspace, user=user, name=name, filename=filename, stored=stored, summary=summary,
        profile=profile, read_options={"format": "csv", **converted.options.as_dict()},
    )


def _column_profile(parquet, column: str) -> dict:
    """``column_profile`` of one column of a Parquet file, reading only that column.

    Text and number columns are profiled in Arrow and NumPy (null count,
    value_counts for distinct and top values, a histogram of the finite
    numbers): as pandas a text column is a Python object per row, and pandas'
    value_counts of a million distinct floats takes ~100 MB. The answer is the
    one ``column_profile`` gives (tests compare them). Other types go through it.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = parquet.read(columns=[column]).column(0)
    kind = values.type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    number = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if not text and not number:
        return column_profile(values.to_pandas().rename(column))
    present = values.drop_null()
    if number and pa.types.is_floating(kind):
        present = present.filter(pc.invert(pc.is_nan(present)))
    profile = column_profile(values.slice(0, 0).to_pandas().rename(column))
    n, missing = len(values), len(values) - len(present)
    profile.update(missing=missing, missing_pct=round(100 * missing / n, 2) if n else 0.0)
    if not len(present):
        return profile
    if text:
        counts = pc.value_counts(present)
        frequencies = counts.field("counts").to_numpy()
        # Most frequent first; a stable sort keeps ties in order of first appearance, as pandas does.
        order = (-frequencies).argsort(kind="stable")[:TOP_VALUES]
        shown = counts.field("values").take(pa.array(order)).to_pylist()
        profile["distinct"] = len(counts)
    else:
        # Sorting, not hashing: a hash table of a million distinct floats takes ~90 MB, a sort ~5 copies of 8 MB.
        unique, first, frequencies = np.unique(present.to_numpy(), return_index=True, return_counts=True)
        order = np.lexsort((first, -frequencies))[:TOP_VALUES]
        shown = unique[order].tolist()
        profile["distinct"] = len(unique)
        del unique, first
    profile["top"] = [{"value": short_value(v), "count": int(frequencies[i])} for v, i in zip(shown, order, strict=True)]
    if number:
        numbers = present.to_numpy().astype("float64", copy=False)
        finite = numbers[np.isfinite(numbers)]
        if len(finite):
            profile["min"], profile["max"] = json_safe(finite.min()), json_safe(finite.max())
            profile["mean"] = json_safe(finite.mean())
            hist, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
            profile["histogram"] = {"edges": json_safe(edges.tolist()), "counts": hist.tolist()}
    return profile


def _dataset_store(*, workspace: Workspace, user, name: str, filename: str, df, read_options: dict) -> Dataset:
    stored = artifact_store().put_table(df)
    artifacts_record([stored])
    return _dataset_create(
        workspace=workspace, user=user, name=name, filename=filename, stored=stored, summary=table_summary(df),
        profile=table_profile(df), read_options=read_options,
    )


def _dataset_create(
    *, workspace: Workspace, user, name: str, filename: str, stored, summary: dict, profile: dict, read_options: dict
) -> Dataset:
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).exists()
        latest = Dataset.objects.filter(workspace=workspace, name=name).aggregate(v=Max("version"))["v"] or 0
        dataset = Dataset.objects.create(
            workspace=workspace,
            name=name,
            version=latest + 1,
            artifact_id=stored.sha256,
            filename=filename,
            n_rows=summary["rows"],
            columns=summary["columns"],
            preview={"rows": summary["preview"]},
            read_options=read_options,
            profile=profile,
            created_by=user,
        )
        audit_record(workspace_id=workspace.pk, user=user, action="dataset.upload", target=dataset,
                     details={"name": name, "version": dataset.version, "sha256": stored.sha256,
                              "rows": dataset.n_rows})
        return dataset


def _is_sha256(ref: str) -> bool:
    return len(ref) == 64 and all(c in "0123456789abcdef" for c in ref)


def dataset_resolve(*, workspace: Workspace, ref: str, version: int | None) -> Dataset:
    """The upload a ``dataset.upload`` node means, at the moment of asking.

    ``ref`` names the dataset: its name, or the sha256 of any of its uploads
    (what older graphs and the editor's dataset picker hold). ``version``
    pins that version; None follows the latest one. Raises ApplicationError
    blaming the ``dataset`` or ``version`` param when there is no such upload
    in ``workspace`` (another workspace's datasets are not looked at).
    """
    uploads = Dataset.objects.filter(workspace=workspace)
    name = None
    if _is_sha256(ref):
        name = uploads.filter(artifact_id=ref).order_by("-created_at").values_list("name", flat=True).first()
    if name is None and uploads.filter(name=ref).exists():
        name = ref
    if name is None:
        raise ApplicationError(
            "no uploaded dataset with this name or id in this workspace", details={"field": "dataset"}
        )
    series = uploads.filter(name=name).order_by("-version")
    if version is None:
        return series.first()
    found = series.filter(version=version).first()
    if found is None:
        latest = series.values_list("version", flat=True).first()
        raise ApplicationError(
            f"dataset {name!r} has no version {version}; its versions are 1 to {latest}",
            details={"field": "version"},
        )
    return found
