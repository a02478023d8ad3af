"""ArtifactStore: content addressing, signatures checked before decoding, table round trips."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import pickle

import joblib
import pandas as pd
import pytest

from pipelines.execution.artifacts import JSON, OBJECT, TABLE, ArtifactError, ArtifactStore


@pytest.fixture
def store(tmp_path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts", "test-signing-key")


class LeavesATrace:
    """Unpickling this object creates the file ``marker``: proof that it was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_equal_content_is_stored_once_under_the_sha256_of_its_bytes(store):
    first = store.put_json({"accuracy": 0.9, "f1": 0.8})
    second = store.put_json({"f1": 0.8, "accuracy": 0.9})
    data = store.path(first.sha256).read_bytes()

    assert first == second
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.kind, first.size) == (JSON, len(data))
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == [
        first.sha256,
        f"{first.sha256}.sig",
    ]


def test_equal_tables_get_the_same_sha_and_different_tables_a_different_one(store):
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})

    same = store.put_table(table.copy()).sha256
    other = store.put_table(table.assign(a=[1, 3])).sha256

    assert store.put_table(table).sha256 == same
    assert other != same


def test_writing_leaves_no_temporary_files_behind(store):
    store.put_object({"a": 1})
    store.put_table(pd.DataFrame({"a": [1]}))

    assert [p for p in store.root.rglob(".tmp-*")] == []


@pytest.mark.parametrize(
    "artifact_id", ["../../etc/passwd", "A" * 64, "a" * 63, "g" * 64, ""], ids=repr
)
def test_an_id_that_is_not_a_sha256_is_refused_before_touching_the_disk(store, artifact_id):
    with pytest.raises(ArtifactError, match="not an artifact id"):
        store.path(artifact_id)


def test_a_table_round_trips_with_its_dtypes(store):
    table = pd.DataFrame(
        {
            "int": pd.Series([1, 2, 3], dtype="int64"),
            "small_int": pd.Series([1, 2, 3], dtype="int8"),
            "float": [0.5, float("nan"), 2.25],
            "bool": [True, False, True],
            "text": ["a", None, "c"],
            "category": pd.Categorical(["x", "y", "x"]),
            "when": pd.to_datetime(["2024-01-01", "2024-06-30", None]),
            "nullable": pd.array([1, None, 3], dtype="Int64"),
        }
    )

    loaded = store.load(store.put_table(table).sha256, TABLE)

    pd.testing.assert_frame_equal(loaded, table)
    assert loaded.dtypes.to_dict() == table.dtypes.to_dict()


def test_an_object_and_json_round_trip(store):
    obj = {"steps": [("scale", None)], "n": 3}

    assert store.load(store.put_object(obj).sha256, OBJECT) == obj
    assert store.load(store.put_json({"b": [1, 2], "a": None}).sha256, JSON) == {
        "b": [1, 2],
        "a": None,
    }


def test_a_stored_model_is_a_file_joblib_loads(store, tmp_path):
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_wine(return_X_y=True)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    stored = store.put_object(model)

    downloaded = joblib.load(store.path(stored.sha256))  # what a user does with the .joblib download
    assert (downloaded.predict(X) == model.predict(X)).all()
    assert (store.load(stored.sha256, OBJECT).predict(X) == model.predict(X)).all()


def test_an_object_stored_by_joblib_dump_before_still_loads(store):
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit([[1.0, 2.0], [3.0, 5.0]])
    written = io.BytesIO()
    joblib.dump(scaler, written, compress=3)  # how objects were stored (their arrays outside the pickle)
    stored = store._put_bytes(written.getvalue(), OBJECT)

    loaded = store.load(stored.sha256, OBJECT)
    assert (loaded.mean_ == scaler.mean_).all() and (loaded.scale_ == scaler.scale_).all()


def test_a_tampered_object_file_is_refused_and_never_unpickled(store, tmp_path):
    marker = tmp_path / "unpickled"
    stored = store.put_object({"model": "honest"})
    planted = io.BytesIO()
    joblib.dump(LeavesATrace(marker), planted)
    store.path(stored.sha256).write_bytes(planted.getvalue())  # the old signature stays

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(stored.sha256, OBJECT)
    assert not marker.exists()


def test_an_unsigned_file_under_its_true_sha_is_refused_and_never_unpickled(store, tmp_path):
    marker = tmp_path / "unpickled"
    data = pickle.dumps(LeavesATrace(marker))
    sha = hashlib.sha256(data).hexdigest()
    store.path(sha).parent.mkdir(parents=True)
    store.path(sha).write_bytes(data)

    with pytest.raises(ArtifactError, match="missing from the store"):
        store.load(sha, OBJECT)
    assert not marker.exists()


def test_a_file_signed_with_another_key_is_refused_and_never_unpickled(store, tmp_path):
    marker = tmp_path / "unpickled"
    other = ArtifactStore(store.root, "someone-elses-key")
    sha = other.put_object(LeavesATrace(marker)).sha256
    assert not marker.exists()  # writing pickles, it does not unpickle

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(sha, OBJECT)
    assert not marker.exists()


def test_a_signature_is_bound_to_the_kind_it_was_written_as(store, tmp_path):
    # JSON bytes signed as JSON cannot be passed off as a pickle to be loaded.
    sha = store.put_json({"a": 1}).sha256

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(sha, OBJECT)


def test_a_forged_signature_file_is_refused(store, tmp_path):
    marker = tmp_path / "unpickled"
    data = pickle.dumps(LeavesATrace(marker))
    sha = hashlib.sha256(data).hexdigest()
    path = store.path(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    path.with_suffix(".sig").write_text(hashlib.sha256(data).hexdigest())

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(sha, OBJECT)
    assert not marker.exists()


def test_a_missing_artifact_is_an_artifact_error(store):
    with pytest.raises(ArtifactError, match="artifact aaaaaaaaaaaa is missing from the store"):
        store.load("a" * 64, TABLE)


def _sign_the_older_way(store: ArtifactStore, sha: str, kind: str, data: bytes) -> None:
    """Replace the signature of ``sha`` with one as written before v2: an HMAC of kind and bytes."""
    mac = hmac.new(b"test-signing-key", kind.encode() + b"\0" + data, hashlib.sha256)
    store.path(sha).with_suffix(".sig").write_text(mac.hexdigest())


def test_a_signature_covers_the_kind_and_digest_and_is_marked_v2(store):
    stored = store.put_json({"a": 1})

    signature = store.path(stored.sha256).with_suffix(".sig").read_text()
    expected = hmac.new(b"test-signing-key", b"v2\0json\0" + stored.sha256.encode(), hashlib.sha256).hexdigest()
    assert signature == f"v2:{expected}"


def test_an_artifact_signed_in_the_older_format_still_loads_and_fetches(store):
    stored = store.put_object({"model": "from last year"})
    data = store.path(stored.sha256).read_bytes()
    _sign_the_older_way(store, stored.sha256, OBJECT, data)

    assert store.load(stored.sha256, OBJECT) == {"model": "from last year"}
    assert store.fetch_verified(stored.sha256, OBJECT).read_bytes() == data


def test_a_changed_byte_under_an_older_signature_is_refused_and_never_unpickled(store, tmp_path):
    marker = tmp_path / "unpickled"
    stored = store.put_object({"model": "honest"})
    _sign_the_older_way(store, stored.sha256, OBJECT, store.path(stored.sha256).read_bytes())
    planted = io.BytesIO()
    joblib.dump(LeavesATrace(marker), planted)
    store.path(stored.sha256).write_bytes(planted.getvalue())

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(stored.sha256, OBJECT)
    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.fetch_verified(stored.sha256, OBJECT)
    assert not marker.exists()


def test_one_flipped_byte_in_a_large_file_is_refused_by_the_streaming_check(store, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(20 << 20))  # several 8 MB pieces
    stored = store.put_file(source, OBJECT)
    path = store.path(stored.sha256)
    assert store.fetch_verified(stored.sha256, OBJECT) == path

    with open(path, "r+b") as fh:
        fh.seek(17 << 20)
        byte = fh.read(1)
        fh.seek(17 << 20)
        fh.write(bytes([byte[0] ^ 1]))

    with pytest.raises(ArtifactError, match="failed its signature check; not using it"):
        store.fetch_verified(stored.sha256, OBJECT)


def test_a_valid_signature_of_another_artifact_does_not_vouch_for_this_one(store):
    # Signing the digest binds the signature to the id: copying a good .sig next to other bytes fails.
    good = store.put_json({"a": 1})
    other = store.put_json({"b": 2})
    store.path(other.sha256).with_suffix(".sig").write_bytes(store.path(good.sha256).with_suffix(".sig").read_bytes())

    with pytest.raises(ArtifactError, match="failed its signature check"):
        store.load(other.sha256, JSON)


@pytest.mark.parametrize("signature", ["v3:" + "0" * 64, "not a signature", ""])
def test_a_signature_in_an_unknown_format_is_refused_with_a_message_saying_so(store, signature):
    stored = store.put_json({"a": 1})
    store.path(stored.sha256).with_suffix(".sig").write_text(signature)

    with pytest.raises(ArtifactError, match="signature in an unknown format"):
        store.load(stored.sha256, JSON)
    with pytest.raises(ArtifactError, match="signature in an unknown format"):
        store.fetch_verified(stored.sha256, JSON)
