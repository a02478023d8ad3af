"""Uploading tables as datasets: each upload under a name is that name's next version."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from ..errors import ApplicationError
from ..execution.summaries import PREVIEW_ROWS, table_summary
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
    parquet_to_parquet,
)
from .dataset_profile import parquet_column_profile, table_profile

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
    holds one chunk or one column, never the table. A Parquet upload, whatever
    its size, is copied batch by batch (``parquet_to_parquet``) and profiled
    the same way.

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
    name = name or filename or "dataset"
    if is_parquet(stream) or filename.lower().endswith((".parquet", ".pq")):
        return _dataset_stream(
            workspace=workspace, user=user, name=name, filename=filename,
            convert=lambda target: (parquet_to_parquet(stream, target).rows, {"format": "parquet"}),
        )
    if size > STREAM_BYTES:
        csv_options = {"delimiter": delimiter, "decimal": decimal, "encoding": encoding, "short_lines": short_lines}

        def convert(target: str) -> tuple[int, dict]:
            converted = csv_to_parquet(stream, target, **csv_options)
            return converted.rows, {"format": "csv", **converted.options.as_dict()}

        return _dataset_stream(workspace=workspace, user=user, name=name, filename=filename, convert=convert)
    df, options = csv_read(stream, delimiter=delimiter, decimal=decimal, encoding=encoding, short_lines=short_lines)
    return _dataset_store(
        workspace=workspace, user=user, name=name, filename=filename, df=df,
        read_options={"format": "csv", **options.as_dict()},
    )


def _dataset_stream(
    *, workspace: Workspace, user, name: str, filename: str, convert: Callable[[str], tuple[int, dict]]
) -> Dataset:
    """A large CSV or any Parquet upload: ``convert(target)`` writes the table into a
    Parquet file in the store's scratch folder and answers (rows, read options); the file
    is profiled one column at a time, then moved into the store (or sent to a remote store
    in a multipart upload)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fd, target = tempfile.mkstemp(dir=artifact_store().scratch_dir(), prefix=".upload-", suffix=".parquet")
    os.close(fd)
    try:
        rows, read_options = convert(target)
        parquet = pq.ParquetFile(target)
        profile = {"rows": rows, "columns": []}
        for column in parquet.schema_arrow.names:
            profile["columns"].append(parquet_column_profile(parquet, column))
            pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
        head = next(parquet.iter_batches(batch_size=PREVIEW_ROWS)).to_pandas()
        del parquet
        stored = artifact_store().put_table_file(Path(target))
    finally:
        if os.path.exists(target):
            os.unlink(target)
    artifacts_record([stored])
    summary = {**table_summary(head), "rows": rows}
    return _dataset_create(
        workspace=workspace, user=user, name=name, filename=filename, stored=stored, summary=summary,
        profile=profile, read_options=read_options,
    )


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
        Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).exists()
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
