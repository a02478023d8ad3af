"""Content-addressed artifact storage with signatures.

Every artifact is a file named by the sha256 of its bytes, written once and never
changed. Beside it lies ``<sha>.sig``: an HMAC of the bytes under the
deployment's signing key. ``load`` checks the HMAC of the very bytes it is about
to decode, so a file the system did not write (or one changed on disk) is never
unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

TABLE = "table"  # Parquet
OBJECT = "object"  # joblib pickle
JSON = "json"


class ArtifactError(Exception):
    """An artifact is missing or its signature does not match."""


@dataclass(frozen=True)
class StoredArtifact:
    sha256: str
    kind: str
    size: int

    def as_ref(self) -> dict[str, str]:
        return {"sha256": self.sha256, "kind": self.kind}


def _same_device(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def _copy(source: Path, target: str) -> None:
    import shutil

    shutil.copyfile(source, target)
    os.unlink(source)


class ArtifactStore:
    def __init__(self, root: Path | str, signing_key: str | bytes):
        self.root = Path(root)
        self._key = signing_key.encode() if isinstance(signing_key, str) else signing_key

    # --- writing ---------------------------------------------------------
    def put_table(self, df: pd.DataFrame) -> StoredArtifact:
        buffer = io.BytesIO()
        df.to_parquet(buffer, engine="pyarrow", index=False, compression="zstd")
        return self._put_bytes(buffer.getvalue(), TABLE)

    def put_object(self, obj: Any) -> StoredArtifact:
        buffer = io.BytesIO()
        joblib.dump(obj, buffer, compress=3)
        return self._put_bytes(buffer.getvalue(), OBJECT)

    def put_json(self, obj: Any) -> StoredArtifact:
        data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        return self._put_bytes(data, JSON)

    def put_table_file(self, source: Path) -> StoredArtifact:
        """Store the Parquet file at ``source`` (moved into the store, or deleted if
        the store already holds its bytes), hashing and signing it in 1 MB pieces:
        a large table written by a ParquetWriter is never held in memory."""
        digest = hashlib.sha256()
        mac = hmac.new(self._key, TABLE.encode() + b"\0", hashlib.sha256)
        with open(source, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                mac.update(chunk)
        sha, size = digest.hexdigest(), os.path.getsize(source)
        path = self.path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            os.unlink(source)
        else:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            os.close(fd)
            try:
                # A move within one file system; a copy when the upload lies elsewhere.
                os.replace(source, tmp) if _same_device(source, path.parent) else _copy(source, tmp)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        sig_path = path.with_suffix(".sig")
        if not sig_path.exists():
            self._write_atomic(sig_path, mac.hexdigest().encode())
        return StoredArtifact(sha256=sha, kind=TABLE, size=size)

    def _put_bytes(self, data: bytes, kind: str) -> StoredArtifact:
        sha = hashlib.sha256(data).hexdigest()
        path = self.path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: readers never see half a file, and two workers
            # writing the same content simply both succeed.
            self._write_atomic(path, data)
        sig_path = path.with_suffix(".sig")
        if not sig_path.exists():
            self._write_atomic(sig_path, self._sign(data, kind).encode())
        return StoredArtifact(sha256=sha, kind=kind, size=len(data))

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # --- reading ---------------------------------------------------------
    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ArtifactError(f"not an artifact id: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def stored(self, sha256: str, kind: str) -> StoredArtifact:
        """The artifact ``sha256`` already in the store, as ``put_*`` would answer it."""
        return StoredArtifact(sha256=sha256, kind=kind, size=self.path(sha256).stat().st_size)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def read_verified(self, sha256: str, kind: str) -> bytes:
        path = self.path(sha256)
        try:
            data = path.read_bytes()
            signature = path.with_suffix(".sig").read_text()
        except FileNotFoundError as exc:
            raise ArtifactError(f"artifact {sha256[:12]} is missing from the store") from exc
        if hashlib.sha256(data).hexdigest() != sha256 or not hmac.compare_digest(
            signature, self._sign(data, kind)
        ):
            raise ArtifactError(f"artifact {sha256[:12]} failed its signature check; not loading it")
        return data

    def load(self, sha256: str, kind: str) -> Any:
        data = self.read_verified(sha256, kind)
        if kind == TABLE:
            return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        if kind == OBJECT:
            return joblib.load(io.BytesIO(data))
        if kind == JSON:
            return json.loads(data)
        raise ArtifactError(f"unknown artifact kind {kind!r}")

    def _sign(self, data: bytes, kind: str) -> str:
        mac = hmac.new(self._key, kind.encode() + b"\0", hashlib.sha256)
        mac.update(data)
        return mac.hexdigest()
