"""The Parquet copy of prediction logs: write cost of its encoding, read cost of a batch
written again.

    .venv/bin/python bench/prediction_parquet.py [requests per hour]

Plain Python (``serving.columnar`` and ``serving.compaction`` on a local folder): no
database, no Redis. One deployment-hour of ``requests`` one-row requests (default
100,000) with 20 float and 4 text input columns, drained in batches of 200 requests.

1. Writing, with the stored tables' options (``parquet_write_options``: a dictionary
   for text only) vs the options the prediction logs had before (zstd, a dictionary for
   every column): the batch tables' encoding alone (in memory), then the hour's drained
   batch files and its compaction as the product writes them; medians of interleaved
   rounds, and the sizes.
2. Reading the whole hour (``frame_table``, as ``prediction_frame`` and a monitoring
   window read it) from the drained batches, from the same batches with one more
   batch written again (``again-…``: readers then keep each row once), and compacted.

Medians and their ratios are printed with the load average (the machine is shared).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pipelines.execution.storage import LocalFolder  # noqa: E402
from pipelines.serving import columnar, compaction  # noqa: E402

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BATCH = 200
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
HOUR = datetime(2026, 11, 2, 10, tzinfo=UTC)
LABEL = HOUR.strftime(columnar.HOUR_FORMAT)
T0 = int((HOUR - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
COLUMNS = [f"x{i}" for i in range(20)] + ["city", "device", "plan", "channel"]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def records() -> list[dict]:
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=(REQUESTS, 20)).round(6)
    words = [["Oslo", "Lima", "Pune", "Kobe"], ["ios", "android", "web"], ["free", "pro"], ["ad", "mail", "direct"]]
    text = [rng.choice(w, size=REQUESTS) for w in words]
    step = 3_600_000_000 // REQUESTS
    return [
        {"d": 1, "v": 7, "id": f"{i:032x}", "p": "json", "s": 200, "e": "", "n": 1, "c": COLUMNS,
         "x": [[*numbers[i].tolist(), *(str(t[i]) for t in text)]], "o": {"predictions": [int(i % 2)]},
         "l": 2.0 + i % 7, "t": T0 + i * step}
        for i in range(REQUESTS)
    ]


def old_options(schema) -> dict:
    """What the prediction-log writers passed before: zstd, Parquet's default dictionary for every column."""
    return {"compression": "zstd"}


def write_hour(folder: Path, logged: list[dict]) -> tuple[float, float, int, int]:
    """(seconds writing the batches, seconds compacting, bytes of the batches, bytes compacted)."""
    shutil.rmtree(folder, ignore_errors=True)
    store, scratch = LocalFolder(folder / "store"), folder / "scratch"
    scratch.mkdir(parents=True)
    started = time.perf_counter()
    for first in range(0, len(logged), BATCH):
        columnar.batch_write(store, scratch, logged[first:first + BATCH], {7: 3}, name=f"b{first:09d}")
    batches = time.perf_counter() - started
    batch_bytes = sum(p.stat().st_size for p in (folder / "store").rglob("*.parquet"))
    started = time.perf_counter()
    result = compaction.hour_compact(store, scratch, 1, LABEL)
    compacting = time.perf_counter() - started
    return batches, compacting, batch_bytes, store.path(result.key).stat().st_size


def writing(folder: Path, logged: list[dict]) -> None:
    times: dict[str, list[tuple[float, float, int, int]]] = {"old": [], "new": []}
    for _ in range(ROUNDS):
        for side in ("old", "new"):
            if side == "old":
                with mock.patch.object(columnar, "parquet_write_options", old_options), \
                        mock.patch.object(compaction, "parquet_write_options", old_options):
                    times[side].append(write_hour(folder, logged))
            else:
                times[side].append(write_hour(folder, logged))
    for part, label in ((0, "drained batches"), (1, "compaction")):
        old = statistics.median(t[part] for t in times["old"])
        new = statistics.median(t[part] for t in times["new"])
        size_old, size_new = times["old"][0][part + 2], times["new"][0][part + 2]
        print(f"write {label}: text-only dictionary {new:.3f} s vs every column {old:.3f} s "
              f"({new / old:.2f}x); {size_new / 1e6:.1f} MB vs {size_old / 1e6:.1f} MB; {load()}", flush=True)


def encoding(logged: list[dict]) -> None:
    """The Parquet encoding alone: the hour's batch tables built once, written to memory."""
    import io

    from pipelines.execution.artifacts import parquet_write_options

    tables = [t for first in range(0, len(logged), BATCH)
              for t in columnar.batch_tables(logged[first:first + BATCH], {7: 3}).values()]
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(ROUNDS):
        for side, options in (("old", old_options), ("new", parquet_write_options)):
            started = time.perf_counter()
            for table in tables:
                pq.write_table(table, io.BytesIO(), **options(table.schema))
            times[side].append(time.perf_counter() - started)
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"encode the {len(tables)} batch tables: text-only dictionary {new:.3f} s vs every column {old:.3f} s "
          f"({new / old:.2f}x); {load()}", flush=True)


def reading(folder: Path, logged: list[dict]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    store, scratch = LocalFolder(folder / "store"), folder / "scratch"
    scratch.mkdir(parents=True)
    for first in range(0, len(logged), BATCH):
        columnar.batch_write(store, scratch, logged[first:first + BATCH], {7: 3}, name=f"b{first:09d}")
    start, end = HOUR, HOUR + timedelta(hours=1)
    again = store.path(columnar.hour_prefix(1, LABEL) + f"{columnar.AGAIN_PREFIX}x.parquet")

    def read() -> int:
        return columnar.frame_table(store, 1, start, end).num_rows

    def timed() -> float:
        started = time.perf_counter()
        assert read() == len(logged)
        return time.perf_counter() - started

    plain, with_again = [], []
    for _ in range(ROUNDS):
        plain.append(timed())
        columnar.batch_write(store, scratch, logged[BATCH:2 * BATCH + 50], {7: 3}, name="x", again=True)
        with_again.append(timed())
        again.unlink()
    compaction.hour_compact(store, scratch, 1, LABEL)
    compacted = [timed() for _ in range(ROUNDS)]
    base = statistics.median(plain)
    print(f"read an hour of {len(logged)} rows in {len(logged) // BATCH} batch files: {base:.3f} s; "
          f"with a batch written again: {statistics.median(with_again):.3f} s "
          f"({statistics.median(with_again) / base:.2f}x); compacted: {statistics.median(compacted):.3f} s; {load()}",
          flush=True)


def main() -> None:
    logged = records()
    folder = Path(tempfile.mkdtemp(prefix="bench-predparquet-"))
    try:
        print(f"{REQUESTS} one-row requests, {len(COLUMNS)} input columns, batches of {BATCH}, "
              f"{ROUNDS} rounds; pyarrow {pa.__version__}; {load()}", flush=True)
        encoding(logged)
        writing(folder, logged)
        reading(folder, logged)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
