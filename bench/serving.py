"""Prediction serving with logging on vs logging off vs a minimal ASGI app, measured by wrk.

    .venv/bin/python bench/serving.py [--seconds 10] [--rounds 3] [--connections 8] [--skip-mlflow]

One model (the demo breast_cancer pipeline: StandardScaler + LogisticRegression,
trained by a real worker, registered and deployed through our services), three
servers on it, each one uvicorn process pinned to CPU 0:

1. logging off: ``uvicorn pipelines.serving.asgi:application`` with
   ``SERVING_LOG_PREDICTIONS=0``;
2. minimal app: parse the JSON, build a NumPy array, call ``predict``;
3. logging on (the default): the same as 1 with prediction logging, i.e. records
   sent to the Redis stream and drained into PostgreSQL and Parquet by a Celery
   worker (with beat) pinned to CPU 1, next to the load generator.

The load generator is ``wrk -t1 -c8`` (Debian's wrk: Python load generators hide
tail latency) pinned to CPU 1, sending one-row requests. The three servers run
side by side (an idle one costs nothing) and are measured in interleaved rounds
(off, minimal, on, off, …) so that the shared machine's noise falls on all
three; each row is the median of its rounds. Printed per row: req/s, p50, p99
and the server's CPU time per request (from /proc: the machine's other load
disturbs it least); then the goals: logging on ≥ 0.9 × logging off in
throughput and ≤ 1.2 × its p99; then the count of log rows written against the
requests sent. On this 2-core box the drainer's work (and the PostgreSQL and
Redis work it causes, which no pinning keeps off CPU 0) competes with the server
being measured; ``--drain-seconds 30`` keeps the drainer idle during the runs to
show the serving process's own cost. MLflow's model server (``mlflow models
serve``, from a venv under var/bench created from PyPI if missing) is measured
once more unless ``--skip-mlflow``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DB", "mlops_bench_serving")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

from _harness import ROOT, median, setup_django, start_workers, stop, wrk  # noqa: E402

BENCH = ROOT / "var" / "bench"
MLFLOW_VENV = BENCH / "mlflow-venv"
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
CLIENT_CPU = int(os.environ.get("BENCH_CLIENT_CPU", "1"))

MINIMAL_APP = '''
import json, warnings, joblib, numpy as np
warnings.filterwarnings("ignore")
model = joblib.load("{model}")

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    rows = np.array(json.loads(body)["instances"], dtype=np.float64)
    out = json.dumps({{"predictions": model.predict(rows).tolist()}}).encode()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]}})
    await send({{"type": "http.response.body", "body": out}})
'''


# --- set-up ---------------------------------------------------------------------------------


def deploy_model() -> tuple[str, list[str], list[float], object]:
    """Train the demo pipeline on a real worker, register and deploy it; return (key, columns, row, model)."""
    from django.contrib.auth import get_user_model

    from pipelines.demo import breast_cancer_graph
    from pipelines.execution.artifacts import OBJECT
    from pipelines.models import Pipeline, Run, Workspace
    from pipelines.services.artifacts import artifact_store
    from pipelines.services.deployments import deployment_deploy, deployment_key_create
    from pipelines.services.registry import model_register
    from pipelines.services.runs import run_start

    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    workspace = Workspace.objects.get(personal_owner=user)
    pipeline = Pipeline.objects.create(workspace=workspace, name="bc", graph=breast_cancer_graph(), created_by=user)
    workers = start_workers(1, concurrency=1)
    try:
        run = run_start(pipeline=pipeline, user=user)
        deadline = time.monotonic() + 120
        while not Run.objects.get(pk=run.pk).is_final:
            if time.monotonic() > deadline:
                raise RuntimeError("the training run did not finish")
            time.sleep(0.2)
    finally:
        stop(workers)
    run.refresh_from_db()
    if run.status != "succeeded":
        raise RuntimeError(f"training failed: {run.error}")
    version = model_register(user=user, name="bc", run=run, node_id="train")
    deployment, _ = deployment_deploy(user=user, name="bc", version=version)
    _, key = deployment_key_create(user=user, deployment=deployment, name="bench")
    columns = version.feature_names
    row = [float(version.signature["example"][c]) for c in columns]
    return key, columns, row, artifact_store().load(version.artifact_sha256, OBJECT)


def ensure_mlflow() -> Path | None:
    python = MLFLOW_VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import mlflow"], capture_output=True).returncode == 0:
        return MLFLOW_VENV / "bin" / "mlflow"
    import sklearn

    print("installing MLflow into", MLFLOW_VENV, "(once)…", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "mlflow", f"scikit-learn=={sklearn.__version__}"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        print("MLflow could not be installed:\n", result.stderr[-2000:])
        return None
    return MLFLOW_VENV / "bin" / "mlflow"


def save_for_mlflow(model_file: Path, columns: list[str], row: list[float]) -> Path:
    target = BENCH / "mlflow-model"
    if target.exists():
        shutil.rmtree(target)
    script = (
        "import joblib, pandas as pd, mlflow.sklearn\n"
        "from mlflow.models import infer_signature\n"
        f"model = joblib.load({str(model_file)!r})\n"
        f"example = pd.DataFrame([{row!r}], columns={columns!r})\n"
        f"mlflow.sklearn.save_model(model, {str(target)!r}, signature=infer_signature(example, model.predict(example)))\n"
    )
    subprocess.run([MLFLOW_VENV / "bin" / "python", "-c", script], check=True)
    return target


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(argv: list[str], port: int, env: dict, log: Path, probe: tuple[str, bytes, dict]) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *argv], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    path, body, headers = probe
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            status, _ = asyncio.run(one_request(port, path, body, headers))
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"server did not answer:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass


# --- the load generator ---------------------------------------------------------------------------


def _request_bytes(port: int, path: str, body: bytes, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length or 0)


async def one_request(port: int, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_request_bytes(port, path, body, headers))
        return await _read_response(reader)
    finally:
        writer.close()


async def load(port: int, path: str, body: bytes, headers: dict, *, seconds: float, warmup: float,
               concurrency: int) -> dict:
    """The asyncio load generator ``bench/explain.py`` and ``bench/rollout.py`` fall back on
    without wrk: ``concurrency`` keep-alive clients for ``seconds`` after ``warmup``; the
    same keys as ``_harness.wrk``."""
    request = _request_bytes(port, path, body, headers)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                writer.write(request)
                status, _ = await _read_response(reader)
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies.append(t1 - t0)
                    if status != 200:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {"rps": len(latencies) / seconds, "p50": pct(0.50), "p99": pct(0.99), "n": len(latencies), "errors": errors}


# --- main ---------------------------------------------------------------------------------------


def start_drainer() -> subprocess.Popen:
    """A Celery worker with beat, pinned next to wrk: it drains the prediction-log stream
    into PostgreSQL and Parquet every PREDICTION_LOG_DRAIN_SECONDS, as in production."""
    log = BENCH / "drainer.log"
    proc = subprocess.Popen(
        ["taskset", "-c", str(CLIENT_CPU), sys.executable, "-m", "celery", "-A", "mlops_studio", "worker", "--beat",
         f"--schedule={BENCH / 'beat-schedule'}", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
         "--without-mingle", f"--hostname=bench-drainer-{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the drainer did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used: a cost per request that the
    machine's other load disturbs far less than throughput or latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _row(label: str, runs: list[dict]) -> dict:
    out = {key: median([r[key] for r in runs]) for key in ("rps", "p50", "p99", "cpu_us")}
    print(f"{label:<26} {out['rps']:>8.0f} req/s   p50 {out['p50']:>6.2f} ms   p99 {out['p99']:>6.2f} ms"
          f"   server CPU {out['cpu_us']:>5.0f} µs/request"
          f"   (median of {len(runs)}; requests {sum(r['n'] for r in runs)}, non-2xx {sum(r['errors'] for r in runs)})",
          flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (off, minimal, on, …)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip-mlflow", action="store_true", help="leave out MLflow's model server")
    parser.add_argument("--drain-seconds", type=float, default=1.0,
                        help="PREDICTION_LOG_DRAIN_SECONDS of the drainer (production default 1)")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: one CPU: server and load generator share it")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")
    BENCH.mkdir(parents=True, exist_ok=True)
    setup_django()
    import joblib

    from pipelines.models import PredictionLog

    key, columns, row, model = deploy_model()
    model_file = BENCH / "model.joblib"
    joblib.dump(model, model_file)
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    ours_body = json.dumps({"instances": [row]}).encode()
    ours_headers = {"Authorization": f"Bearer {key}"}
    predict = "/api/deployments/bc/predict"

    def ours(label: str, extra_env: dict) -> tuple[str, int, str, bytes, dict, subprocess.Popen]:
        port = free_port()
        proc = start_server(
            [python, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            port, {**env, **extra_env}, BENCH / f"{label.split()[0]}-{label.split()[-1]}.log",
            (predict, ours_body, ours_headers),
        )
        return label, port, predict, ours_body, ours_headers, proc

    os.environ["PREDICTION_LOG_DRAIN_SECONDS"] = f"{args.drain_seconds:g}"  # the drainer inherits it
    drainer = start_drainer()
    app_file = BENCH / "minimal_app.py"
    app_file.write_text(MINIMAL_APP.format(model=model_file))
    servers = []
    try:
        servers.append(ours("logging off", {"SERVING_LOG_PREDICTIONS": "0"}))
        port = free_port()
        servers.append(("minimal app", port, "/", ours_body, {}, start_server(
            [python, "-m", "uvicorn", "minimal_app:app", "--app-dir", str(BENCH), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            port, env, BENCH / "minimal.log", ("/", ours_body, {}),
        )))
        servers.append(ours("logging on (the default)", {}))
        print(f"\none-row requests, wrk -t1 -c{args.connections}, {args.seconds:g} s per run, {args.rounds} rounds "
              f"interleaved; servers on CPU {SERVER_CPU}, wrk and the log drainer (every {args.drain_seconds:g} s) "
              f"on CPU {CLIENT_CPU}\n", flush=True)
        sent = 0  # completed requests to "logging on", as wrk counts them
        for label, port, path, body, headers, _ in servers:  # warm-up
            warm = wrk(port, path, body, headers, seconds=2, connections=args.connections, cpu=CLIENT_CPU)
            sent += warm["n"] if label.startswith("logging on") else 0
        runs: dict[str, list[dict]] = {s[0]: [] for s in servers}
        for _ in range(args.rounds):
            for label, port, path, body, headers, proc in servers:
                cpu = cpu_seconds(proc.pid)
                result = wrk(port, path, body, headers, seconds=args.seconds, connections=args.connections,
                             cpu=CLIENT_CPU)
                result["cpu_us"] = (cpu_seconds(proc.pid) - cpu) / max(1, result["n"]) * 1e6
                runs[label].append(result)
                print(f"  {label:<26} {result['rps']:>8.0f} req/s   p50 {result['p50']:>6.2f} ms   "
                      f"p99 {result['p99']:>6.2f} ms   server CPU {result['cpu_us']:>5.0f} µs/request", flush=True)
        print()
        rows = {label: _row(label, r) for label, r in runs.items()}
        for server in servers:
            stop_server(server[-1])
        # Stopping the server sent what it held; the drainer writes the rest.
        sent += sum(r["n"] for r in runs["logging on (the default)"])
        deadline = time.monotonic() + 120
        while PredictionLog.objects.count() < sent and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(min(5.0, 2 * args.drain_seconds))
    finally:
        for server in servers:
            stop_server(server[-1])
        stop_server(drainer)
    logged = PredictionLog.objects.count()
    print(f"{'':<26} log rows written: {logged}; requests wrk completed on 'logging on': {sent} "
          f"(the rows also hold start-up probes and requests in flight when a run ended) "
          f"{'OK' if logged >= sent else 'LOST SOME'}")

    off, minimal, on = rows["logging off"], rows["minimal app"], rows["logging on (the default)"]
    print()
    ratio, p99 = on["rps"] / off["rps"], on["p99"] / off["p99"]
    print(f"logging on / off throughput   {ratio:5.2f} x   (goal >= 0.9)   {'OK' if ratio >= 0.9 else 'MISSED'}")
    print(f"logging on / off p99          {p99:5.2f} x   (goal <= 1.2)   {'OK' if p99 <= 1.2 else 'MISSED'}")
    print(f"logging on / off server CPU   {on['cpu_us'] / off['cpu_us']:5.2f} x per request")
    print(f"logging on / minimal          {on['rps'] / minimal['rps']:5.2f} x throughput, "
          f"{on['p99'] / minimal['p99']:5.2f} x p99")

    if not args.skip_mlflow:
        mlflow = ensure_mlflow()
        if mlflow is not None:
            model_dir = save_for_mlflow(model_file, columns, row)
            port = free_port()
            body = json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode()
            mlflow_env = {k: v for k, v in env.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
            # MLflow starts its server as a bare `uvicorn`: its own venv must come first on PATH.
            mlflow_env["PATH"] = f"{MLFLOW_VENV / 'bin'}:{env.get('PATH', '')}"
            proc = start_server(
                [str(mlflow), "models", "serve", "-m", str(model_dir), "--env-manager", "local", "-w", "1",
                 "-h", "127.0.0.1", "-p", str(port)],
                port, mlflow_env, BENCH / "mlflow.log", ("/invocations", body, {}),
            )
            try:
                result = _row("mlflow", [wrk(port, "/invocations", body, {}, seconds=args.seconds,
                                             connections=args.connections, cpu=CLIENT_CPU)])
            finally:
                stop_server(proc)
            print(f"logging on / mlflow throughput {on['rps'] / result['rps']:5.2f} x")


if __name__ == "__main__":
    main()
