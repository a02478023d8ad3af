"""A big table through the product vs the same steps in a plain pandas + scikit-learn script.

    .venv/bin/python bench/big_table.py            # 1,000,000 rows
    ROWS=100000 .venv/bin/python bench/big_table.py # a quick run

Workload (issue 8): ROWS rows × 30 feature columns (20 numeric, 8 low-cardinality
text, 2 dates as ISO text) and a 0/1 target, 5 % of the feature cells missing,
written deterministically (NumPy, seeded) to a temporary CSV.

- baseline: a subprocess running read_csv → train_test_split → a ColumnTransformer
  like prep.auto's → HistGradientBoostingClassifier → evaluate; its wall time
  (after imports) and its own peak RSS (getrusage).
- ours: the CSV streamed to POST /api/datasets/ of a real gunicorn web process
  (one sync worker), whose RSS is sampled from /proc every 50 ms during the
  upload; then a run dataset.upload → data.split → prep.auto →
  HistGradientBoostingClassifier → model.train → model.evaluate on a real Celery
  worker (concurrency 1), whose pool child's RSS is sampled the same way.

Goals: wall time ≤ 1.3 × the script's; the worker's peak RSS ≤ 1.5 × the
script's; the web process's RSS during the upload < 300 MB. Runs on PostgreSQL
(BENCH_DB) and Redis (BENCH_REDIS_URL) via _harness.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _harness import ROOT, setup_django, start_workers, stop

ROWS = int(os.environ.get("ROWS", 1_000_000))
WALL_GOAL, WORKER_RSS_GOAL, WEB_RSS_GOAL_MB = 1.3, 1.5, 300.0
SEED = 8
MISSING = 0.05


def write_csv(path: Path, rows: int) -> None:
    """The workload, generated and written in blocks of 100,000 rows (same bytes for the same ROWS)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    weights = rng.normal(size=20)
    levels = [np.array([f"c{j}_{k}" for k in range(3 + 2 * j)], dtype=object) for j in range(8)]
    start = np.datetime64("2015-01-01")
    block = 100_000
    for first in range(0, rows, block):
        n = min(block, rows - first)
        numbers = rng.normal(size=(n, 20))
        codes = [rng.integers(0, len(lv), size=n) for lv in levels]
        days = rng.integers(0, 3650, size=(n, 2))
        score = numbers @ weights / 4 + (codes[0] == 1) - 0.5 * (codes[1] == 2) + rng.normal(size=n)
        frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(20)])
        for j, (lv, code) in enumerate(zip(levels, codes, strict=True)):
            frame[f"cat{j}"] = lv[code]
        for j in range(2):
            frame[f"date{j}"] = (start + days[:, j]).astype(str)
        for column in frame.columns:
            frame.loc[rng.random(n) < MISSING, column] = None
        frame["label"] = (score > 0).astype(int)
        frame.to_csv(path, mode="a" if first else "w", header=not first, index=False, float_format="%.6g")


BASELINE = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

def date_parts(X):
    out = {}
    for c in X.columns:
        d = pd.to_datetime(X[c], format="%Y-%m-%d")
        for part in ("year", "month", "day", "weekday"):
            out[f"{c}_{part}"] = getattr(d.dt, part).astype(np.float64)
    return pd.DataFrame(out, index=X.index)

stages = {}

def stage(name):
    # Wall time of each stage, so the bench compares them with the product's steps.
    global mark
    now = time.perf_counter()
    stages[name], mark = now - mark, now

started = mark = time.perf_counter()
df = pd.read_csv(sys.argv[1])
stage("read_csv")
train, test = train_test_split(df, test_size=0.25, stratify=df["label"], random_state=0)
stage("split")
numbers = [f"x{i}" for i in range(20)]
texts = [f"cat{j}" for j in range(8)]
dates = ["date0", "date1"]
prep = ColumnTransformer([
    ("number", SimpleImputer(strategy="median", add_indicator=True), numbers),
    ("date", make_pipeline(FunctionTransformer(date_parts), SimpleImputer(strategy="median")), dates),
    ("onehot", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                             OneHotEncoder(handle_unknown="ignore", sparse_output=False)), texts),
])
model = make_pipeline(prep, HistGradientBoostingClassifier())
X = train.drop(columns=["label"])
model.fit(X, train["label"])
stage("fit")
Xt = test.drop(columns=["label"])
proba = model.predict_proba(Xt)[:, 1]
pred = model.predict(Xt)
metrics = {"accuracy": accuracy_score(test["label"], pred), "f1": f1_score(test["label"], pred),
           "roc_auc": roc_auc_score(test["label"], proba)}
stage("evaluate")
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
                  "metrics": metrics, "stages": stages}))
"""


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB, (0, 0) once it has gone."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    return (int(fields.get("VmRSS", "0 kB").split()[0]) / 1024, int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class Sampler:
    """Samples the RSS of the processes ``pids()`` names every 50 ms; ``peak`` is the largest seen."""

    def __init__(self, pids):
        self.pids, self.peak, self.hwm = pids, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids():
                rss, hwm = rss_mb(pid)
                self.peak, self.hwm = max(self.peak, rss), max(self.hwm, hwm)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(port: int) -> subprocess.Popen:
    log = Path(tempfile.mkstemp(prefix="bench-web-", suffix=".log")[1])
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "DEBUG": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mlops_studio.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--timeout", "900"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if children(proc.pid):
                return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"web process did not start:\n{log.read_text()}")
        time.sleep(0.1)


def upload(port: int, token: str, path: Path) -> dict:
    """POST the CSV as multipart, streamed from disk in 1 MB pieces with a Content-Length."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    conn.request(
        "POST", "/api/datasets/", body=body(),
        headers={"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Length": str(len(head) + path.stat().st_size + len(tail)), "Host": "127.0.0.1"},
    )
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    assert response.status == 201, (response.status, payload)
    return payload


def graph(dataset: str) -> dict:
    from pipelines.graph.builder import GraphBuilder

    return (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=dataset)
        .node("split", "data.split", test_size=0.25, stratify_column="label", seed=0)
        .node("prep", "prep.auto")
        .node("boost", "sklearn.ensemble.HistGradientBoostingClassifier")
        .node("train", "model.train", target="label")
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("prep.estimator", "boost.estimator")
        .edge("boost.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
        .build()
    )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-bigtable-"))
    try:
        measure(workdir / "big.csv")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(csv_path: Path) -> None:
    started = time.perf_counter()
    write_csv(csv_path, ROWS)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"workload: {ROWS:,} rows x 30 columns + label, {size_mb:.0f} MB CSV "
          f"(written in {time.perf_counter() - started:.0f} s)", flush=True)

    out = subprocess.run([sys.executable, "-c", BASELINE, str(csv_path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    base = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"baseline script: {base['seconds']:.1f} s, CPU {base['cpu_seconds']:.1f} s (stages: "
          f"{', '.join(f'{k} {v:.1f}' for k, v in base['stages'].items())}), peak RSS {base['peak_rss_mb']:.0f} MB, "
          f"metrics {base['metrics']}", flush=True)

    os.environ.setdefault("DATASET_MAX_BYTES", str(1 << 30))
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    token = Token.objects.create(user=user).key
    web = start_web(port := free_port())
    try:
        web_child = children(web.pid)[0]
        idle_mb = rss_mb(web_child)[0]
        with Sampler(lambda: [web_child]) as web_rss:
            t0 = time.perf_counter()
            dataset = upload(port, token, csv_path)
            upload_seconds = time.perf_counter() - t0
    finally:
        stop([web])
    print(f"upload: {upload_seconds:.1f} s, web process RSS idle {idle_mb:.0f} MB, "
          f"peak during upload {web_rss.peak:.0f} MB (VmHWM {web_rss.hwm:.0f} MB)", flush=True)

    client = APIClient()
    client.force_authenticate(user)
    pipeline = client.post("/api/pipelines/", {"name": "big", "graph": graph(dataset["name"])}, format="json").json()
    workers = start_workers(1, concurrency=1)
    try:
        with Sampler(lambda: [c for w in workers for c in children(w.pid)]) as worker_rss:
            t0 = time.perf_counter()
            run = client.post(f"/api/pipelines/{pipeline['id']}/runs/", {"use_cache": False}, format="json").json()
            while run["status"] not in ("succeeded", "failed", "cancelled"):
                time.sleep(0.2)
                run = client.get(f"/api/runs/{run['id']}/").json()
            run_seconds = time.perf_counter() - t0
    finally:
        stop(workers)
    assert run["status"] == "succeeded", run.get("error")
    steps = {s["node_id"]: s["summary"].get("seconds", 0) for s in run["steps"]}
    ours = upload_seconds + run_seconds
    print(f"run: {run_seconds:.1f} s (steps: {', '.join(f'{k} {v:.1f}' for k, v in steps.items())}); "
          f"worker pool child peak RSS {worker_rss.peak:.0f} MB (VmHWM {worker_rss.hwm:.0f} MB)")
    evaluate = next((s for s in run["steps"] if s["node_id"] == "evaluate"), {})
    print(f"product metrics: {json.dumps(evaluate.get('summary', {}).get('metrics', {}))[:200]}")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print()
    wall, rss = ours / base["seconds"], max(worker_rss.peak, worker_rss.hwm) / base["peak_rss_mb"]
    print(f"wall time      ours/script {ours:.1f}/{base['seconds']:.1f} s = {wall:.2f}x  "
          f"(goal <= {WALL_GOAL}x) {'OK' if wall <= WALL_GOAL else 'OVER'}")
    print(f"worker RSS     ours/script = {rss:.2f}x  (goal <= {WORKER_RSS_GOAL}x) "
          f"{'OK' if rss <= WORKER_RSS_GOAL else 'OVER'}")
    web_peak = web_rss.peak
    print(f"web RSS during upload {web_peak:.0f} MB / {WEB_RSS_GOAL_MB:.0f} MB = {web_peak / WEB_RSS_GOAL_MB:.2f}x "
          f"(goal < 1) {'OK' if web_peak < WEB_RSS_GOAL_MB else 'OVER'}")


if __name__ == "__main__":
    main()
