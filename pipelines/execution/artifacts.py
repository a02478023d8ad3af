"""Content-addressed artifact storage with signatures.

Every artifact is an object named by the sha256 of its bytes, written once and
never changed, in a local folder or an S3 bucket (``execution.storage``). Beside
it lies ``<sha>.sig``: ``v2:`` and an HMAC, under the deployment's signing key, of
the artifact's kind and sha256. Signing the digest rather than the bytes means a
file is hashed once as it is written and once as it is read (the sha256 that
names it), not hashed and MAC'd twice over. A reader hashes the very bytes it is
about to decode and compares them with the id; the signature says the system
wrote an artifact of that kind under that id. So a file the system did not write
(or one changed in the store or in a machine's cache) is never unpickled:
changing a byte changes the sha256, and a valid signature for another sha256
cannot be made without the key.

Signatures written before ``v2`` (64 hex digits: an HMAC of the kind and the
bytes) still verify, by MAC'ing the bytes while they are hashed; anything else in
a ``.sig`` is refused with a message saying the format is unknown.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import pickle
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, Protocol

import joblib
import pandas as pd

from .storage import LocalCache, LocalFolder, ObjectStore

TABLE = "table"  # Parquet
OBJECT = "object"  # a zlib-compressed pickle: a file joblib.load reads
JSON = "json"
SEEN_MAX = 100_000  # keys remembered as present in a remote store (~10 MB)
SIG = ".sig"  # the key of an artifact's signature is its key + SIG
SIG_V2 = "v2:"  # HMAC(kind, sha256); a bare 64-hex signature is the older HMAC(kind, bytes)
CHUNK = 8 << 20  # hash in 8 MB pieces: few calls into hashlib (which then releases the GIL)
# joblib.dump writes a NumPy array as this object in the pickle, its data after it.
JOBLIB_ARRAY = b"NumpyArrayWrapper"


class Meter(Protocol):
    """Counts what a store moves (the workers' metrics); ``source`` is "store" or "cache"."""

    def read(self, nbytes: int, *, source: str) -> None: ...

    def written(self, nbytes: int) -> None: ...


class _NoMeter:
    def read(self, nbytes: int, *, source: str) -> None:
        pass

    def written(self, nbytes: int) -> None:
        pass


def parquet_write_options(schema: Any) -> dict[str, Any]:
    """How every stored table is written (``pq.write_table``/``ParquetWriter`` keywords):
    zstd, with dictionary encoding only for text and binary columns.

    Parquet dictionary-encodes every column by default; for numbers with many
    distinct values (measurements, timestamps) the writer builds a dictionary,
    finds it too large and falls back to plain encoding page by page. That
    attempt cost ~70 % of the time of writing a typical table (20 float and 10
    text columns: 3.5x slower, and 15 % larger), on every upload and every table
    a step hands on. Text, where values repeat, keeps its dictionary.
    """
    import pyarrow as pa

    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary,
            pa.types.is_dictionary, getattr(pa.types, "is_string_view", lambda t: False))
    return {
        "compression": "zstd",
        "use_dictionary": [f.name for f in schema if any(kind(f.type) for kind in text)],
    }


class ArtifactError(Exception):
    """An artifact is missing or its signature does not match."""


@dataclass(frozen=True)
class StoredArtifact:
    sha256: str
    kind: str
    size: int

    def as_ref(self) -> dict[str, str]:
        return {"sha256": self.sha256, "kind": self.kind}


class ArtifactStore:
    """Signed, content-addressed artifacts over an ``ObjectStore``.

    ``where`` is a folder (a ``LocalFolder`` there) or any ``ObjectStore``. A
    remote store should come with a ``LocalCache``: reads then go through it,
    and every copy read from it is checked again (hash and HMAC) before it is
    decoded; a copy that fails is dropped and fetched anew from the store.
    """

    def __init__(self, where: Path | str | ObjectStore, signing_key: str | bytes, *, cache: LocalCache | None = None,
                 meter: Meter | None = None):
        self.backend: ObjectStore = LocalFolder(where) if isinstance(where, (str, Path)) else where
        self.cache = cache
        self.meter: Meter = meter or _NoMeter()
        self._seen: set[str] = set()  # keys a remote store is known to hold
        self._key = signing_key.encode() if isinstance(signing_key, str) else signing_key

    @property
    def root(self) -> Path | None:
        """The folder of a local store (None for a remote one)."""
        return getattr(self.backend, "root", None) if isinstance(self.backend, LocalFolder) else None

    def scratch_dir(self) -> Path:
        """A folder for files about to be stored: beside a local store (so storing
        them is a rename), else the cache folder or the system's temporary folder."""
        folder = self.root or (self.cache.root if self.cache else Path(tempfile.gettempdir()))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- writing ---------------------------------------------------------
    def put_table(self, df: pd.DataFrame) -> StoredArtifact:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # What DataFrame.to_parquet(index=False) writes, with the stored tables' options.
        table = pa.Table.from_pandas(df, preserve_index=False)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, **parquet_write_options(table.schema))
        return self._put_bytes(buffer.getvalue(), TABLE)

    def put_object(self, obj: Any) -> StoredArtifact:
        """Store ``obj`` as a zlib stream of its pickle: the file ``joblib.dump(obj, compress=3)``
        would write for an object without arrays, and one ``joblib.load`` reads for any (a
        download is a ``.joblib``). Written by the C pickler: joblib's own pickler, in pure
        Python, took 10 to 30 times longer on a fitted random forest, and most of a worker's
        time beyond the blocks' own work."""
        return self._put_bytes(zlib.compress(pickle.dumps(obj, protocol=5), 3), OBJECT)

    def put_json(self, obj: Any) -> StoredArtifact:
        data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        return self._put_bytes(data, JSON)

    def put_table_file(self, source: Path) -> StoredArtifact:
        """Store the Parquet file at ``source`` (moved into the store, or deleted if
        the store already holds its bytes), hashing it in 8 MB pieces:
        a large table written by a ParquetWriter is never held in memory. A remote
        store receives it in a multipart upload."""
        return self.put_file(source, TABLE)

    def put_file(self, source: Path, kind: str) -> StoredArtifact:
        """Store the file at ``source`` as an artifact of ``kind``; ``source`` is consumed."""
        sha = _hash_file(source)
        size = os.path.getsize(source)
        key = self.key(sha)
        if self._has(key):
            os.unlink(source)
        else:
            self.backend.put_file(key, source)
            self.meter.written(size)
        if not self._has(key + SIG):
            self._put_object(key + SIG, self._sign(sha, kind).encode())
        return StoredArtifact(sha256=sha, kind=kind, size=size)

    def _put_bytes(self, data: bytes, kind: str) -> StoredArtifact:
        sha = hashlib.sha256(data).hexdigest()
        key = self.key(sha)
        # Objects are written once: two workers writing the same content simply both succeed.
        if not self._has(key):
            self._put_object(key, data)
            self.meter.written(len(data))
        if not self._has(key + SIG):
            self._put_object(key + SIG, self._sign(sha, kind).encode())
        return StoredArtifact(sha256=sha, kind=kind, size=len(data))

    def _put_object(self, key: str, data: bytes) -> None:
        self.backend.put_bytes(key, data)
        if self.cache is not None:
            self.cache.add_bytes(key, data)

    def _has(self, key: str) -> bool:
        # Objects are never changed or deleted, so an object once seen stays there: a
        # remote store is asked once per key and process (a cached re-run asks about
        # every output of every step), and a cached copy is proof enough.
        if self.cache is None:
            return self.backend.exists(key)
        if key in self._seen or self.cache.get(key) is not None:
            return True
        if not self.backend.exists(key):
            return False
        if len(self._seen) >= SEEN_MAX:
            self._seen.clear()
        self._seen.add(key)
        return True

    # --- reading ---------------------------------------------------------
    @staticmethod
    def key(sha256: str) -> str:
        """The object key of artifact ``sha256`` (``ab/abcd…``); its signature is ``key + ".sig"``."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ArtifactError(f"not an artifact id: {sha256!r}")
        return f"{sha256[:2]}/{sha256}"

    def path(self, sha256: str) -> Path:
        """The file of an artifact in a local store (for tests and tools; code reads through the store)."""
        key = self.key(sha256)
        if not isinstance(self.backend, LocalFolder):
            raise ArtifactError("artifacts of a remote store have no local path")
        return self.backend.path(key)

    def stored(self, sha256: str, kind: str) -> StoredArtifact:
        """The artifact ``sha256`` already in the store, as ``put_*`` would answer it."""
        return StoredArtifact(sha256=sha256, kind=kind, size=self.path(sha256).stat().st_size)

    def exists(self, sha256: str) -> bool:
        return self._has(self.key(sha256))

    def read_verified(self, sha256: str, kind: str) -> bytes:
        """The artifact's bytes, once their hash and HMAC match: nothing unchecked is decoded."""
        key = self.key(sha256)
        data, signature, cached = self._read(key, fresh=False)
        self.meter.read(len(data), source="cache" if cached else "store")
        if not self._valid(sha256, kind, data, signature) and cached:
            # A damaged or planted copy in this machine's cache: the store's own copy decides.
            self.cache.discard(key)
            self.cache.discard(key + SIG)
            data, signature, _ = self._read(key, fresh=True)
            self.meter.read(len(data), source="store")
        if not self._valid(sha256, kind, data, signature):
            self._refuse(sha256, signature, "loading")
        return data

    def _read(self, key: str, *, fresh: bool) -> tuple[bytes, str, bool]:
        """(bytes, signature, whether either came from the cache)."""
        try:
            if self.cache is None:
                return self.backend.get_bytes(key), self.backend.get_bytes(key + SIG).decode(), False
            cached = False
            signature_path = None if fresh else self.cache.get(key + SIG)
            if signature_path is None:
                signature = self.backend.get_bytes(key + SIG)
                self.cache.add_bytes(key + SIG, signature)
            else:
                signature, cached = signature_path.read_bytes(), True
            data_path = None if fresh else self.cache.get(key)
            if data_path is None:
                data_path = self.cache.fill(key, self.backend)
            else:
                cached = True
            return data_path.read_bytes(), signature.decode(errors="replace"), cached
        except FileNotFoundError as exc:
            raise ArtifactError(f"artifact {key.rpartition('/')[2][:12]} is missing from the store") from exc

    def _valid(self, sha256: str, kind: str, data: bytes, signature: str) -> bool:
        if hashlib.sha256(data).hexdigest() != sha256:
            return False
        legacy = self._legacy_mac(kind, signature)
        if legacy is not None:
            legacy.update(data)
        return self._signature_valid(sha256, kind, signature, legacy)

    def _signature_valid(self, sha256: str, kind: str, signature: str, legacy: hmac.HMAC | None) -> bool:
        """Whether ``signature`` vouches for an artifact ``sha256`` of ``kind`` whose bytes
        were hashed (and, for an older signature, MAC'd into ``legacy``)."""
        if legacy is not None:
            return hmac.compare_digest(signature, legacy.hexdigest())
        return hmac.compare_digest(signature, self._sign(sha256, kind))

    def _legacy_mac(self, kind: str, signature: str) -> hmac.HMAC | None:
        """A MAC to feed the bytes into when ``signature`` is of the older kind (over the bytes)."""
        if _is_legacy(signature):
            return hmac.new(self._key, kind.encode() + b"\0", hashlib.sha256)
        return None

    @staticmethod
    def _refuse(sha256: str, signature: str, doing: str) -> NoReturn:
        if not signature.startswith(SIG_V2) and not _is_legacy(signature):
            raise ArtifactError(
                f"artifact {sha256[:12]} has a signature in an unknown format (expected 'v2:' and 64 hex "
                f"digits, or an older 64-hex signature); not {doing} it"
            )
        raise ArtifactError(f"artifact {sha256[:12]} failed its signature check; not {doing} it")

    def load(self, sha256: str, kind: str) -> Any:
        data = self.read_verified(sha256, kind)
        if kind == TABLE:
            return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        if kind == OBJECT:
            return _load_object(data)
        if kind == JSON:
            return json.loads(data)
        raise ArtifactError(f"unknown artifact kind {kind!r}")

    def fetch_verified(self, sha256: str, kind: str) -> Path:
        """A local file of the artifact, hashed in 8 MB pieces and checked against its id and
        signature (a large artifact is never held in memory): the store's own file, or this
        machine's cached copy. A remote object not cached yet is hashed as it downloads, so
        it is read once; a cached copy whose bytes do not match the id is dropped and fetched
        again. A signature read from the cache that fails is read once more from the store,
        replacing the cached one, before the artifact is refused: a damaged copy of the
        signature on this machine must not make a good artifact unusable (nor cost a
        download of bytes that were right)."""
        key = self.key(sha256)
        try:
            signature, cached_signature = self._read_signature(key)
            path, signed = self._fetch_file(key, sha256, kind, signature)
            if path is not None and not signed and cached_signature:
                signature, _ = self._read_signature(key, fresh=True)
                signed = self._file_signed(path, sha256, kind, signature)
            if path is not None and signed:
                return path
        except FileNotFoundError as exc:
            raise ArtifactError(f"artifact {sha256[:12]} is missing from the store") from exc
        self._refuse(sha256, signature, "using")

    def _fetch_file(self, key: str, sha256: str, kind: str, signature: str) -> tuple[Path | None, bool]:
        """(a local file whose bytes hash to ``sha256``, or None when the store's bytes do not;
        whether ``signature`` vouches for it). The bytes are hashed once, as they are read."""
        path = self.backend.local_path(key)
        if path is not None:
            legacy = self._legacy_mac(kind, signature)
            if _hash_file(path, legacy) != sha256:
                return None, False
            self.meter.read(path.stat().st_size, source="store")
            return path, self._signature_valid(sha256, kind, signature, legacy)
        path = self.cache.get(key)
        if path is not None:
            legacy = self._legacy_mac(kind, signature)
            if _hash_file(path, legacy) == sha256:
                self.meter.read(path.stat().st_size, source="cache")
                return path, self._signature_valid(sha256, kind, signature, legacy)
        # Not cached, or a damaged copy: the store's own copy decides.
        legacy = self._legacy_mac(kind, signature)
        digest = hashlib.sha256()
        path = self.cache.fill(key, self.backend, hashers=[h for h in (digest, legacy) if h is not None])
        if digest.hexdigest() != sha256:
            self.cache.discard(key)
            return None, False
        self.meter.read(path.stat().st_size, source="store")
        return path, self._signature_valid(sha256, kind, signature, legacy)

    def _file_signed(self, path: Path, sha256: str, kind: str, signature: str) -> bool:
        """Whether ``signature`` vouches for the file at ``path``, whose bytes hash to ``sha256``
        (only a signature of the older kind needs the bytes read again)."""
        legacy = self._legacy_mac(kind, signature)
        if legacy is not None:
            _hash_file(path, legacy)
        return self._signature_valid(sha256, kind, signature, legacy)

    def _read_signature(self, key: str, *, fresh: bool = False) -> tuple[str, bool]:
        """(the artifact's signature, whether it came from this machine's cache). ``fresh``:
        from the store, replacing the cached copy."""
        if self.cache is None:
            return self.backend.get_bytes(key + SIG).decode(errors="replace"), False
        cached = None if fresh else self.cache.get(key + SIG)
        if cached is not None:
            return cached.read_text(errors="replace"), True
        signature = self.backend.get_bytes(key + SIG)
        self.cache.add_bytes(key + SIG, signature)
        return signature.decode(errors="replace"), False

    def open_stream(self, sha256: str) -> BinaryIO:
        """The stored bytes as a stream read in pieces (for downloads; not verified, never decoded here)."""
        key = self.key(sha256)
        try:
            return self.backend.open(key)
        except FileNotFoundError as exc:
            raise ArtifactError(f"artifact {sha256[:12]} is missing from the store") from exc

    def presigned_url(self, sha256: str, *, filename: str) -> str | None:
        """A short-lived direct download link, when the store can make one."""
        return self.backend.presigned_url(self.key(sha256), filename=filename)

    def check(self) -> None:
        """Raise ``StorageUnavailable`` when the store cannot be used (called at start-up)."""
        self.backend.check()

    def _sign(self, sha256: str, kind: str) -> str:
        """The signature of artifact ``sha256`` of ``kind``: the key vouches that the system
        wrote these bytes (named by their hash) as that kind. The ``v2`` in the MAC's input
        keeps it apart from the older signatures, which MAC'd the kind and the bytes."""
        mac = hmac.new(self._key, b"v2\0" + kind.encode() + b"\0" + sha256.encode(), hashlib.sha256)
        return SIG_V2 + mac.hexdigest()


def _load_object(data: bytes) -> Any:
    """Decode an object artifact (verified): what ``put_object`` writes by the C unpickler;
    one written by ``joblib.dump`` (its arrays' data lies outside the pickle) by ``joblib.load``."""
    try:
        pickled = zlib.decompress(data)
    except zlib.error:
        pickled = None
    if pickled is not None and JOBLIB_ARRAY not in pickled:
        return pickle.loads(pickled)
    return joblib.load(io.BytesIO(data))


def _is_legacy(signature: str) -> bool:
    return len(signature) == 64 and all(c in "0123456789abcdef" for c in signature)


def _hash_file(path: Path, legacy: hmac.HMAC | None = None) -> str:
    """The sha256 of the file at ``path`` read in CHUNK pieces into one buffer (and its bytes
    fed to ``legacy`` too, when an older signature must be checked)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
            if legacy is not None:
                legacy.update(view[:n])
    return digest.hexdigest()
