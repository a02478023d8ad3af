"""The artifact store on a real S3-compatible server (moto's HTTP server on loopback).

Put and get, multipart uploads of large files, signatures as strict as on a
local folder (a tampered object is refused before it is unpickled), the bounded
cache checked by hash, presigned downloads, and the start-up check.
"""

from __future__ import annotations

import io
import os
import socket
import urllib.request

import boto3
import joblib
import numpy as np
import pandas as pd
import pytest

from pipelines.execution.artifacts import OBJECT, TABLE, ArtifactError, ArtifactStore
from pipelines.execution.storage import LocalCache, S3Bucket, StorageUnavailable

KEY = "test-signing-key"


class LeavesATrace:
    """Unpickling this object creates the file ``marker``: proof that it was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def bucket(s3_server, s3_bucket):
    return S3Bucket(s3_bucket, "team/artifacts", endpoint_url=s3_server)


@pytest.fixture
def store(bucket, tmp_path):
    return ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "cache", 64 << 20))


def _raw(bucket: S3Bucket):
    return boto3.client("s3", endpoint_url=bucket.endpoint_url)


def test_objects_round_trip_through_the_bucket_under_the_prefix(store, bucket, tmp_path):
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    table = store.put_table(frame)
    model = store.put_object({"weights": [0.5, 1.5]})

    keys = sorted(o["Key"] for o in _raw(bucket).list_objects_v2(Bucket=bucket.bucket)["Contents"])
    assert keys == sorted(
        f"team/artifacts/{sha[:2]}/{sha}{suffix}" for sha in (table.sha256, model.sha256) for suffix in ("", ".sig")
    )
    fresh = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "other-machine", 64 << 20))
    pd.testing.assert_frame_equal(fresh.load(table.sha256, TABLE), frame)
    assert fresh.load(model.sha256, OBJECT) == {"weights": [0.5, 1.5]}
    assert fresh.exists(table.sha256) and not fresh.exists("0" * 64)


def test_a_large_file_goes_up_in_a_multipart_upload_and_comes_back_whole(store, bucket, tmp_path):
    rng = np.random.default_rng(0)
    source = tmp_path / "big.parquet"
    pd.DataFrame({"v": rng.random(5_000_000)}).to_parquet(source, compression=None)  # ~40 MB
    size = source.stat().st_size
    expected = pd.read_parquet(source)

    stored = store.put_table_file(source)

    assert not source.exists()  # consumed
    head = _raw(bucket).head_object(Bucket=bucket.bucket, Key=f"team/artifacts/{stored.sha256[:2]}/{stored.sha256}")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith(f"-{-(-size // (16 << 20))}")  # an ETag of N parts
    other = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "other-machine", 256 << 20))
    pd.testing.assert_frame_equal(other.load(stored.sha256, TABLE), expected)


def test_a_tampered_object_in_the_bucket_is_refused_before_it_is_unpickled(store, bucket, tmp_path):
    marker = tmp_path / "unpickled"
    stored = store.put_object({"honest": True})
    planted = io.BytesIO()
    joblib.dump(LeavesATrace(marker), planted)
    _raw(bucket).put_object(
        Bucket=bucket.bucket, Key=f"team/artifacts/{stored.sha256[:2]}/{stored.sha256}", Body=planted.getvalue()
    )
    other_machine = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "other-machine", 64 << 20))

    with pytest.raises(ArtifactError, match="signature"):
        other_machine.load(stored.sha256, OBJECT)
    assert not marker.exists()


def test_an_object_signed_with_another_key_is_refused(bucket, tmp_path):
    theirs = ArtifactStore(bucket, "someone-elses-key", cache=LocalCache(tmp_path / "theirs", 1 << 20))
    stored = theirs.put_object([1, 2])
    ours = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "ours", 1 << 20))

    with pytest.raises(ArtifactError, match="signature"):
        ours.load(stored.sha256, OBJECT)


def test_a_tampered_copy_in_the_cache_is_never_unpickled_and_is_fetched_again(store, tmp_path):
    marker = tmp_path / "unpickled"
    stored = store.put_object({"honest": True})
    planted = io.BytesIO()
    joblib.dump(LeavesATrace(marker), planted)
    store.cache.path(ArtifactStore.key(stored.sha256)).write_bytes(planted.getvalue())

    assert store.load(stored.sha256, OBJECT) == {"honest": True}
    assert not marker.exists()
    assert store.cache.path(ArtifactStore.key(stored.sha256)).read_bytes() != planted.getvalue()


def test_a_missing_object_is_an_artifact_error(store):
    with pytest.raises(ArtifactError, match="missing"):
        store.load("ab" * 32, OBJECT)


def test_the_cache_stays_within_its_size_and_drops_the_least_recently_used(bucket, tmp_path):
    writer = ArtifactStore(bucket, KEY)
    blobs = [writer.put_object(os.urandom(300_000)) for _ in range(4)]  # ~300 kB each, incompressible
    cache = LocalCache(tmp_path / "cache", 800_000)
    reader = ArtifactStore(bucket, KEY, cache=cache)

    reader.load(blobs[0].sha256, OBJECT)
    reader.load(blobs[1].sha256, OBJECT)
    reader.load(blobs[0].sha256, OBJECT)  # 0 is now more recent than 1
    reader.load(blobs[2].sha256, OBJECT)

    assert cache.size() <= 800_000
    assert cache.get(ArtifactStore.key(blobs[0].sha256)) is not None
    assert cache.get(ArtifactStore.key(blobs[1].sha256)) is None
    assert cache.get(ArtifactStore.key(blobs[2].sha256)) is not None
    reader.load(blobs[1].sha256, OBJECT)  # evicted copies come back from the bucket
    assert cache.size() <= 800_000


def test_a_presigned_url_downloads_the_object_as_the_named_file_and_lives_five_minutes(store):
    stored = store.put_json({"rows": 3})

    url = store.presigned_url(stored.sha256, filename="run-1-report.json")

    assert "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b'{"rows":3}'
        assert response.headers["Content-Disposition"] == 'attachment; filename="run-1-report.json"'


def test_a_stream_reads_the_object_in_pieces(store):
    stored = store.put_json(list(range(1000)))
    with store.open_stream(stored.sha256) as stream:
        first = stream.read(10)
        rest = stream.read()
    assert first + rest == store.read_verified(stored.sha256, "json")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_store_or_a_missing_bucket_fails_the_check_with_the_reason(s3_server):
    dead = S3Bucket("artifacts", endpoint_url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(StorageUnavailable, match=r"cannot reach the artifact store s3://artifacts/ at http://127\.0\.0\.1"):
        dead.check()
    with pytest.raises(StorageUnavailable, match="no-such-bucket"):
        S3Bucket("no-such-bucket", endpoint_url=s3_server).check()


def test_the_storage_url_must_name_a_bucket():
    assert S3Bucket.from_url("s3://data/team/a/").prefix == "team/a"
    for bad in ("s3://", "http://bucket/x", "bucket/x"):
        with pytest.raises(ValueError, match="s3://bucket/prefix"):
            S3Bucket.from_url(bad)


def test_a_verified_file_is_fetched_into_the_cache_and_a_damaged_copy_is_replaced(store, bucket, tmp_path):
    source = tmp_path / "t.parquet"
    pd.DataFrame({"v": range(1000)}).to_parquet(source)
    data = source.read_bytes()
    stored = store.put_table_file(source)
    reader = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "reader", 64 << 20))

    path = reader.fetch_verified(stored.sha256, TABLE)
    assert path.read_bytes() == data and path.is_relative_to(tmp_path / "reader")
    path.write_bytes(b"damaged")
    assert reader.fetch_verified(stored.sha256, TABLE).read_bytes() == data
    with pytest.raises(ArtifactError, match="signature"):
        reader.fetch_verified(stored.sha256, OBJECT)  # signed as a table, not an object


@pytest.mark.parametrize("backend", ["bucket", "folder"])
def test_both_backends_list_the_keys_under_a_prefix_and_no_file_being_written(backend, bucket, tmp_path):
    from pipelines.execution.storage import LocalFolder

    objects = bucket if backend == "bucket" else LocalFolder(tmp_path / "root")
    for key in ("predictions/7/2026-01-01T10/a.parquet", "predictions/7/2026-01-01T11/b.parquet",
                "predictions/70/2026-01-01T10/c.parquet", "ab/" + "a" * 64):
        objects.put_bytes(key, b"x")
    if backend == "folder":
        (tmp_path / "root" / "predictions" / "7" / "2026-01-01T10" / ".tmp-half").write_bytes(b"")

    assert objects.list("predictions/7/") == ["predictions/7/2026-01-01T10/a.parquet",
                                              "predictions/7/2026-01-01T11/b.parquet"]
    assert objects.list("predictions/7/2026-01-01T11/") == ["predictions/7/2026-01-01T11/b.parquet"]
    assert objects.list("predictions/8/") == []


def test_a_changed_byte_in_the_bucket_is_refused_as_it_downloads_and_not_left_in_the_cache(store, bucket, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(20 << 20))  # several pieces of the hashed download
    stored = store.put_file(source, OBJECT)
    key = f"team/artifacts/{stored.sha256[:2]}/{stored.sha256}"
    data = bytearray(_raw(bucket).get_object(Bucket=bucket.bucket, Key=key)["Body"].read())
    data[17 << 20] ^= 1
    _raw(bucket).put_object(Bucket=bucket.bucket, Key=key, Body=bytes(data))
    reader = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "reader", 64 << 20))

    with pytest.raises(ArtifactError, match="failed its signature check; not using it"):
        reader.fetch_verified(stored.sha256, OBJECT)
    assert reader.cache.get(ArtifactStore.key(stored.sha256)) is None


def test_an_object_signed_in_the_older_format_is_fetched_from_the_bucket(store, bucket, tmp_path):
    import hashlib
    import hmac

    stored = store.put_object({"model": "from last year"})
    key = f"team/artifacts/{stored.sha256[:2]}/{stored.sha256}"
    data = _raw(bucket).get_object(Bucket=bucket.bucket, Key=key)["Body"].read()
    older = hmac.new(KEY.encode(), b"object\0" + data, hashlib.sha256).hexdigest()
    _raw(bucket).put_object(Bucket=bucket.bucket, Key=key + ".sig", Body=older.encode())
    reader = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "reader", 64 << 20))

    assert reader.fetch_verified(stored.sha256, OBJECT).read_bytes() == data
    assert reader.load(stored.sha256, OBJECT) == {"model": "from last year"}


@pytest.mark.parametrize("damage", [b"v2:" + b"0" * 64, b"garbage", b""])
def test_a_damaged_signature_in_the_cache_is_read_again_from_the_store_and_replaced(store, bucket, tmp_path, damage):
    stored = store.put_object({"model": "good"})
    key = ArtifactStore.key(stored.sha256)
    good = store.cache.path(key + ".sig").read_bytes()
    data = store.cache.path(key).read_bytes()

    for read in ("fetch", "load"):
        store.cache.path(key + ".sig").write_bytes(damage)
        if read == "fetch":
            assert store.fetch_verified(stored.sha256, OBJECT).read_bytes() == data
        else:
            assert store.load(stored.sha256, OBJECT) == {"model": "good"}
        assert store.cache.path(key + ".sig").read_bytes() == good


def test_a_cached_copy_whose_bytes_match_is_kept_while_its_damaged_signature_is_read_again(bucket, tmp_path):
    class Reads:
        def __init__(self):
            self.sources = []

        def read(self, nbytes, *, source):
            self.sources.append(source)

        def written(self, nbytes):
            pass

    meter = Reads()
    store = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "cache", 64 << 20), meter=meter)
    stored = store.put_object({"model": "good"})
    key = ArtifactStore.key(stored.sha256)
    store.cache.path(key + ".sig").write_bytes(b"garbage")

    assert store.fetch_verified(stored.sha256, OBJECT) == store.cache.path(key)
    assert meter.sources == ["cache"]  # the signature was read again, the bytes were not


def test_a_signature_that_fails_in_the_store_too_is_refused_after_one_read_of_it(store, bucket, tmp_path):
    theirs = ArtifactStore(bucket, "someone-elses-key", cache=LocalCache(tmp_path / "theirs", 1 << 20))
    stored = theirs.put_object([1, 2])
    key = ArtifactStore.key(stored.sha256)
    reader = ArtifactStore(bucket, KEY, cache=LocalCache(tmp_path / "reader", 1 << 20))
    reader.cache.add_bytes(key + ".sig", b"garbage")

    with pytest.raises(ArtifactError, match="failed its signature check; not using it"):
        reader.fetch_verified(stored.sha256, OBJECT)
    with pytest.raises(ArtifactError, match="failed its signature check; not loading it"):
        reader.load(stored.sha256, OBJECT)
