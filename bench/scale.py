"""Storage at scale: artifacts on an S3-compatible store versus the local disk.

    .venv/bin/python bench/scale.py            # BENCH_PART=reruns or big: one part only

The S3 store is moto's server (``moto_server``) in its own process on loopback.
1. cached re-run on S3 vs on local disk: a demo pipeline run once, then re-run
   unchanged (every step a cache hit) through the API on a real worker; rounds
   alternate local, S3, local, S3…, each with a fresh worker (goal ≤ 1.5×);
2. a 500 MB artifact round trip through the store (the writer hashes the file
   and signs its digest; a fresh reader hashes it again as it arrives) versus
   copying the file on the same disk, alternated (goal ≥ 0.7× the copy's
   throughput). Printed apart: through a local-folder store (the interface's
   own cost), and through S3 on moto (a multipart upload, then a download
   into the reader's cache). moto's server is one Python process that takes
   uploads at a few tens of MB/s, so the S3 line is also set against the
   same bytes moved by plain boto3 (no hashing, no signature): that ratio is
   what the store adds to the network. Both are also set against hashing the
   file twice (the writer's sha256 that names it, a fresh reader's that checks
   it): no verified round trip can be faster, so ``copy / two hashes`` is the
   best ratio this machine allows, whatever the store does.
Figures are medians; the ratios compare measurements taken in the same run.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, setup_django, start_workers, stop

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RERUNS = 5
BIG_MB = int(os.environ.get("BENCH_BIG_MB", "500"))
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def start_s3() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, endpoint
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def use_store(mode: str, endpoint: str, cache_dir: Path) -> None:
    """Point this process (and the workers it starts next) at the local folder or the bucket."""
    from django.conf import settings

    from pipelines.services.artifacts import artifact_store

    storage = "s3://bench/artifacts" if mode == "s3" else ""
    os.environ.update(ARTIFACT_STORAGE=storage, AWS_ENDPOINT_URL=endpoint if storage else "",
                      ARTIFACT_CACHE_DIR=str(cache_dir))
    settings.ARTIFACT_STORAGE, settings.AWS_ENDPOINT_URL, settings.ARTIFACT_CACHE_DIR = (
        storage, os.environ["AWS_ENDPOINT_URL"], cache_dir)
    artifact_store.cache_clear()


def cached_reruns(endpoint: str) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from pipelines.demo import breast_cancer_graph

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    client = APIClient()
    client.force_authenticate(user)

    def run(pipeline_id: int, **body) -> tuple[float, dict]:
        started = time.perf_counter()
        data = client.post(f"/api/pipelines/{pipeline_id}/runs/", body, format="json").json()
        while data["status"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.005)
            data = client.get(f"/api/runs/{data['id']}/").json()
        assert data["status"] == "succeeded", data["error"]
        return time.perf_counter() - started, data

    medians: dict[str, list[float]] = {"local": [], "s3": []}
    for round_ in range(ROUNDS):
        for mode in ("local", "s3"):
            use_store(mode, endpoint, Path(tempfile.mkdtemp(prefix=f"bench-cache-{mode}-")))
            workers = start_workers(1, concurrency=1)
            try:
                # A pipeline of its own per round and store: its first run fills the cache.
                pipeline = client.post("/api/pipelines/", {"name": f"{mode}-{round_}", "graph": breast_cancer_graph()},
                                       format="json").json()
                run(pipeline["id"])
                times = []
                for _ in range(RERUNS):
                    seconds, data = run(pipeline["id"])
                    assert all(s["cache_hit"] for s in data["steps"]), "a re-run executed a step"
                    times.append(seconds)
            finally:
                stop(workers)
            medians[mode].append(statistics.median(times))
    ratios = [s3 / local for local, s3 in zip(medians["local"], medians["s3"], strict=True)]
    print(f"cached re-run, local disk:        {statistics.median(medians['local']) * 1000:8.1f} ms (median of {ROUNDS}×{RERUNS})")
    print(f"cached re-run, S3:                {statistics.median(medians['s3']) * 1000:8.1f} ms (median of {ROUNDS}×{RERUNS})")
    print(f"cached re-run S3 / local:         {statistics.median(ratios):8.2f}×  per round "
          f"{', '.join(f'{r:.2f}' for r in ratios)} (goal ≤ 1.5)")


def big_round_trip(endpoint: str) -> None:
    from pipelines.execution.artifacts import OBJECT, ArtifactStore, _hash_file
    from pipelines.execution.storage import LocalCache, S3Bucket

    work = Path(tempfile.mkdtemp(prefix="bench-big-", dir=os.environ.get("BENCH_TMP", str(ROOT / "var"))))
    source = work / "big.bin"
    with open(source, "wb") as fh:
        for _ in range(BIG_MB):
            fh.write(os.urandom(1 << 20))
    size = source.stat().st_size
    bucket = S3Bucket("bench", "big", endpoint_url=endpoint)

    def fresh_upload(round_: int) -> Path:
        """A copy of the source with new content each round (no "already stored" short cut), on
        the disk before the clock starts: a step's output is written by the step, not by the store."""
        upload = work / "upload.bin"
        shutil.copyfile(source, upload)
        with open(upload, "ab") as fh:
            fh.write(round_.to_bytes(8, "big"))
            fh.flush()
            os.fsync(fh.fileno())
        return upload

    def synced(path: Path) -> None:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())

    copies, locals_, trips, raws, hashes = [], [], [], [], []
    try:
        for round_ in range(ROUNDS):
            target = work / "copy.bin"
            started = time.perf_counter()
            shutil.copyfile(source, target)
            synced(target)
            copies.append(time.perf_counter() - started)
            target.unlink()

            # The least a verified round trip must do: the writer hashes the file to name it,
            # a fresh reader hashes it again to check it. Two sha256 passes, nothing else.
            started = time.perf_counter()
            _hash_file(source)
            _hash_file(source)
            hashes.append(time.perf_counter() - started)

            # Through a local-folder store: hash and sign on write (a rename into the
            # store), then a separate reader hashes the file and checks the signature.
            upload = fresh_upload(round_)
            writer = ArtifactStore(work / "local-store", "bench-key")
            reader = ArtifactStore(work / "local-store", "bench-key")
            started = time.perf_counter()
            stored = writer.put_file(upload, OBJECT)
            synced(reader.fetch_verified(stored.sha256, OBJECT))
            locals_.append(time.perf_counter() - started)
            shutil.rmtree(work / "local-store")

            # Through S3: a multipart upload, then a fresh machine's download into its cache.
            upload = fresh_upload(round_)
            writer = ArtifactStore(bucket, "bench-key")
            reader = ArtifactStore(bucket, "bench-key", cache=LocalCache(work / f"cache-{round_}", 2 * size))
            started = time.perf_counter()
            stored = writer.put_file(upload, OBJECT)
            synced(reader.fetch_verified(stored.sha256, OBJECT))
            trips.append(time.perf_counter() - started)
            shutil.rmtree(work / f"cache-{round_}")
            bucket.client().delete_object(Bucket="bench", Key=f"big/{ArtifactStore.key(stored.sha256)}")

            # The same bytes moved by plain boto3, with the store's transfer settings: moto's ceiling.
            upload = fresh_upload(round_)
            started = time.perf_counter()
            bucket.client().upload_file(str(upload), "bench", "raw/big", Config=bucket._transfer())
            body = bucket.client().get_object(Bucket="bench", Key="raw/big")["Body"]
            with open(work / "raw.bin", "wb") as out:
                shutil.copyfileobj(body, out, 8 << 20)
            synced(work / "raw.bin")
            raws.append(time.perf_counter() - started)
            (work / "raw.bin").unlink()
            upload.unlink()
            bucket.client().delete_object(Bucket="bench", Key="raw/big")
    finally:
        shutil.rmtree(work)
    copy, own, trip, raw, hashed = (statistics.median(v) for v in (copies, locals_, trips, raws, hashes))
    mb = size / 1e6

    def per_round(times: list[float], against: list[float]) -> str:
        return ", ".join(f"{a / t:.2f}" for a, t in zip(against, times, strict=True))

    print(f"{BIG_MB} MB copy on the same disk:        {copy:6.2f} s  {mb / copy:7.1f} MB/s (median of {ROUNDS})")
    print(f"{BIG_MB} MB round trip, local store:      {own:6.2f} s  {mb / own:7.1f} MB/s")
    print(f"local store round trip / copy:        {copy / own:6.2f}×  per round {per_round(locals_, copies)} "
          "(goal ≥ 0.7)")
    print(f"{BIG_MB} MB hashed twice (sha256):        {hashed:6.2f} s  {mb / hashed:7.1f} MB/s  "
          f"(the floor of a verified round trip: its best ratio here is {copy / hashed:.2f}×)")
    print(f"local store round trip / that floor:  {hashed / own:6.2f}×  per round {per_round(locals_, hashes)}")
    print(f"{BIG_MB} MB round trip, S3 (moto):        {trip:6.2f} s  {mb / trip:7.1f} MB/s")
    print(f"S3 (moto) round trip / copy:          {copy / trip:6.2f}×  per round {per_round(trips, copies)} "
          "(goal ≥ 0.7)")
    print(f"{BIG_MB} MB plain boto3 put+get on moto:  {raw:6.2f} s  {mb / raw:7.1f} MB/s")
    print(f"S3 (moto) round trip / plain boto3:   {raw / trip:6.2f}×  per round {per_round(trips, raws)} "
          "(what the store adds to the network)")


def main() -> None:
    os.environ.update(S3_CREDENTIALS)
    server, endpoint = start_s3()
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        setup_django()
        if os.environ.get("BENCH_PART", "all") in ("all", "reruns"):
            cached_reruns(endpoint)
        if os.environ.get("BENCH_PART", "all") in ("all", "big"):
            big_round_trip(endpoint)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
