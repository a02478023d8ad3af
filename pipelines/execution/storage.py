"""Where artifact bytes live: a local folder or an S3-compatible bucket.

Both backends offer the same small interface over object keys (``ab/<sha>``,
``ab/<sha>.sig``): put (bytes or a file), get, exists, open a stream, a
presigned URL, and ``check`` for start-up. They know nothing of hashes or
signatures; ``ArtifactStore`` does (``execution.artifacts``).

``LocalCache`` is the bounded folder a process keeps copies of remote objects
in, so a worker on another machine needs no shared disk. It never vouches for
the bytes: the store checks hash and signature of every copy it reads.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

PRESIGNED_SECONDS = 300  # a download link works for five minutes
MULTIPART_BYTES = 16 << 20  # parts of 16 MB above 16 MB
STREAM_BYTES = 8 << 20  # pieces of a download that is hashed on its way to the disk


class StorageUnavailable(Exception):
    """The store cannot be reached or used (raised at start-up, with the reason)."""


class ObjectStore(Protocol):
    """What ``ArtifactStore`` needs from a place to keep objects. Artifacts are written
    once; the Parquet copy of prediction logs is also compacted (``serving.compaction``),
    which deletes the small files it merged."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at ``source`` and remove it (moved when it can be)."""

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; ``FileNotFoundError`` when there is none."""

    def download(self, key: str, target: Path) -> None:
        """Write the object to ``target`` in pieces; ``FileNotFoundError`` when there is none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    def list(self, prefix: str) -> list[str]:
        """The keys of the objects under ``prefix`` (a folder: ends with ``/``), sorted."""

    def open(self, key: str) -> BinaryIO:
        """A stream of the object's bytes, read in pieces; the caller closes it."""

    def local_path(self, key: str) -> Path | None:
        """The object's file when the store is a local folder, else None."""

    def presigned_url(self, key: str, *, filename: str, seconds: int = PRESIGNED_SECONDS) -> str | None:
        """A short-lived URL that downloads the object as ``filename``, or None if unsupported."""

    def check(self) -> None:
        """Raise ``StorageUnavailable`` with the reason when the store cannot be used."""

    def describe(self) -> str: ...


def write_atomic(path: Path, data: bytes) -> None:
    """Write then rename: readers never see half a file, and two writers both succeed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def move_atomic(source: Path, path: Path) -> None:
    """Move ``source`` to ``path`` (a rename on one file system, else a copy), never half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        if os.stat(source).st_dev == os.stat(path.parent).st_dev:
            os.replace(source, tmp)
        else:
            shutil.copyfile(source, tmp)
            os.unlink(source)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class LocalFolder:
    """Objects as files under ``root`` (the default; ``ARTIFACT_ROOT``)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def _target(self, key: str) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        write_atomic(self._target(key), data)

    def put_file(self, key: str, source: Path) -> None:
        move_atomic(source, self._target(key))

    def get_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def download(self, key: str, target: Path) -> None:
        shutil.copyfile(self.path(key), target)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)  # a reader that opened it keeps reading it

    def list(self, prefix: str) -> list[str]:
        # Files being written (``.tmp-…`` beside their target) are not objects yet.
        keys = []
        for folder, _, names in os.walk(self.path(prefix)):
            relative = Path(folder).relative_to(self.root).as_posix()
            keys.extend(f"{relative}/{name}" for name in names if not name.startswith("."))
        return sorted(keys)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")  # noqa: SIM115 — the caller closes it

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def presigned_url(self, key: str, *, filename: str, seconds: int = PRESIGNED_SECONDS) -> str | None:
        return None

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create the artifact folder {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"the artifact folder {self.root} is not writable")

    def describe(self) -> str:
        return str(self.root)


class S3Bucket:
    """Objects in an S3-compatible bucket, under ``prefix``.

    Files move with boto3's managed transfers: multipart uploads and ranged
    downloads in 16 MB parts, so a large artifact is never held in memory.
    Credentials come from the usual AWS variables; ``endpoint_url`` names a
    store other than AWS (MinIO, Ceph, moto). The client is made per process:
    a prefork worker's children must not share their parent's connections.
    """

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self._client_pid: int | None = None
        self._client = None

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None) -> S3Bucket:
        """``s3://bucket/prefix`` → an ``S3Bucket``; ``ValueError`` naming what is wrong."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"ARTIFACT_STORAGE must look like s3://bucket/prefix, not {url!r}")
        return cls(parts.netloc, parts.path, endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def client(self):
        if self._client is None or self._client_pid != os.getpid():
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16,
                              connect_timeout=5, read_timeout=60, signature_version="s3v4"),
            )
            self._client_pid = os.getpid()
        return self._client

    @staticmethod
    def _transfer():
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES,
                              max_concurrency=4)

    @staticmethod
    def _missing(exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in {"404", "NoSuchKey", "NotFound"}

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        self.client().upload_file(str(source), self.bucket, self._key(key), Config=self._transfer())
        os.unlink(source)

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client().get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        with response["Body"] as body:
            return body.read()

    def download(self, key: str, target: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client().download_file(self.bucket, self._key(key), str(target), Config=self._transfer())
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client().head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client().delete_object(Bucket=self.bucket, Key=self._key(key))  # S3: no error when missing

    def list(self, prefix: str) -> list[str]:
        skip = len(self._key(""))
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
        return sorted(item["Key"][skip:] for page in pages for item in page.get("Contents", ()))

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self.client().get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, *, filename: str, seconds: int = PRESIGNED_SECONDS) -> str | None:
        return self.client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'},
            ExpiresIn=seconds,
        )

    def check(self) -> None:
        """One HEAD of the bucket with a short timeout and no retries: a wrong endpoint,
        bucket or credentials is told at start, not at the first run."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url,
            config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=5),
        )
        try:
            client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"cannot reach the artifact store {self.describe()}: {exc}") from exc

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


def _stream_into(store: ObjectStore, key: str, target: Path, hashers: Sequence[Hasher]) -> None:
    """Copy object ``key`` to ``target`` in STREAM_BYTES pieces, feeding each to ``hashers``."""
    source = store.open(key)
    try:
        with open(target, "wb") as out:
            while chunk := source.read(STREAM_BYTES):
                for hasher in hashers:
                    hasher.update(chunk)
                out.write(chunk)
    finally:
        source.close()


class LocalCache:
    """A folder of copies of remote objects, at most ``max_bytes`` large.

    Least recently used copies go first: a read touches the file's mtime, and
    each new copy evicts the oldest until the folder fits. Files arrive by
    rename, so a reader never sees half of one, and several processes may share
    the folder. The cache trusts nothing it holds: readers verify every copy.
    """

    RESCAN_EVERY = 64  # other processes fill the folder too: count it again this often

    def __init__(self, root: Path | str, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._estimate: int | None = None  # bytes in the folder as of the last count, plus our additions
        self._added_since_count = 0

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> Path | None:
        path = self.path(key)
        try:
            self._touch(path)
        except FileNotFoundError:
            return None
        return path

    @staticmethod
    def _touch(path: Path) -> None:
        # The clock's own nanoseconds: the file system's timestamps tick in milliseconds,
        # too coarse to order reads that follow each other closely.
        now = time.time_ns()
        os.utime(path, ns=(now, now))

    def add_bytes(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        self._touch(path)
        self._added(path)

    def add_file(self, key: str, source: Path) -> bool:
        """Move ``source`` into the cache; False (and the file left alone) when it is too large."""
        if os.path.getsize(source) > self.max_bytes:
            return False
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        move_atomic(source, path)
        self._touch(path)
        self._added(path)
        return True

    def fill(self, key: str, store: ObjectStore, *, hashers: Sequence[Hasher] = ()) -> Path:
        """Download ``key`` from ``store`` into the cache and return its path.

        With ``hashers``, the object comes as one stream and each piece is fed to them on
        its way to the disk, so a reader that verifies what it fetched reads it once
        (rather than a parallel ranged download, then the whole file again to hash it)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        os.close(fd)
        try:
            if hashers:
                _stream_into(store, key, Path(tmp), hashers)
            else:
                store.download(key, Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._touch(path)
        self._added(path)
        return path

    def discard(self, key: str) -> None:
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self._files())

    def _files(self) -> list[os.DirEntry]:
        files = []
        try:
            shards = list(os.scandir(self.root))
        except FileNotFoundError:
            return files
        for shard in shards:
            if shard.is_dir():
                files.extend(e for e in os.scandir(shard.path) if e.is_file() and not e.name.startswith(".tmp-"))
        return files

    def _added(self, path: Path) -> None:
        """Evict when the folder may be over its size: counting it (a scan) happens only
        when our running estimate says so, or every RESCAN_EVERY additions."""
        self._added_since_count += 1
        if self._estimate is not None:
            self._estimate += path.stat().st_size
        if (self._estimate is None or self._estimate > self.max_bytes
                or self._added_since_count >= self.RESCAN_EVERY):
            self.evict(keep=path)

    def evict(self, *, keep: Path | None = None) -> None:
        self._added_since_count = 0
        entries = []
        for entry in self._files():
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue  # another process evicted it
            entries.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            if keep is not None and path == str(keep):
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            total -= size
        self._estimate = total
