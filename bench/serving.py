"""Prediction serving: our endpoint vs MLflow's model server vs a minimal ASGI app.

    .venv/bin/python bench/serving.py [--seconds 10] [--concurrency 8] [--skip-mlflow]

One model (the demo breast_cancer pipeline: StandardScaler + LogisticRegression,
trained by a real worker, registered and deployed through our services), three
servers on it, one at a time, each pinned to CPU 0 with one process:

1. ours: ``uvicorn pipelines.serving.asgi:application`` (what README recommends
   for production), a deployment key, prediction logging ON (PostgreSQL);
2. ``mlflow models serve --env-manager local -w 1`` from a separate venv under
   var/bench/mlflow-venv (created here from PyPI if missing), same model file;
3. a minimal ASGI app: parse the JSON, build a NumPy array, call ``predict``.

The same load generator (asyncio, raw HTTP/1.1 keep-alive, ``--concurrency``
connections) runs pinned to CPU 1, sending one-row requests for ``--seconds``
after a warm-up. Prints req/s, p50 and p99 of each and the ratios against the
goals: ours ≥ 5 × MLflow and ≥ 0.5 × minimal in throughput; p99 ≤ 2 × minimal.
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
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")

from _harness import ROOT, setup_django, start_workers, stop  # noqa: E402

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


def measure(label: str, port: int, path: str, body: bytes, headers: dict, args) -> dict:
    os.sched_setaffinity(0, {CLIENT_CPU})
    result = asyncio.run(load(port, path, body, headers, seconds=args.seconds, warmup=args.warmup,
                              concurrency=args.concurrency))
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    print(f"{label:<10} {result['rps']:>9.0f} req/s   p50 {result['p50']:>7.2f} ms   p99 {result['p99']:>7.2f} ms"
          f"   ({result['n']} requests, {result['errors']} errors)", flush=True)
    return result


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--only", choices=["ours", "mlflow", "minimal"], action="append")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: one CPU: server and load generator share it")
    BENCH.mkdir(parents=True, exist_ok=True)
    setup_django()
    import joblib

    key, columns, row, model = deploy_model()
    model_file = BENCH / "model.joblib"
    joblib.dump(model, model_file)
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    results: dict[str, dict] = {}
    which = set(args.only or ["ours", "mlflow", "minimal"])
    if args.skip_mlflow:
        which.discard("mlflow")
    print(f"\none-row requests, concurrency {args.concurrency}, {args.seconds:.0f} s each, "
          f"server on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}\n")

    if "ours" in which:
        port = free_port()
        body = json.dumps({"instances": [row]}).encode()
        headers = {"Authorization": f"Bearer {key}"}
        proc = start_server(
            [python, "-m", "uvicorn", "pipelines.serving.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            port, env, BENCH / "ours.log", ("/api/deployments/bc/predict", body, headers),
        )
        try:
            results["ours"] = measure("ours", port, "/api/deployments/bc/predict", body, headers, args)
        finally:
            stop_server(proc)
        from pipelines.models import PredictionLog

        print(f"{'':<10} prediction logs written: {PredictionLog.objects.count()}")

    if "mlflow" in which:
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
                results["mlflow"] = measure("mlflow", port, "/invocations", body, {}, args)
            finally:
                stop_server(proc)

    if "minimal" in which:
        app_file = BENCH / "minimal_app.py"
        app_file.write_text(MINIMAL_APP.format(model=model_file))
        port = free_port()
        body = json.dumps({"instances": [row]}).encode()
        proc = start_server(
            [python, "-m", "uvicorn", "minimal_app:app", "--app-dir", str(BENCH), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            port, env, BENCH / "minimal.log", ("/", body, {}),
        )
        try:
            results["minimal"] = measure("minimal", port, "/", body, {}, args)
        finally:
            stop_server(proc)

    ours, mlflow_r, minimal = results.get("ours"), results.get("mlflow"), results.get("minimal")
    print()
    if ours and mlflow_r:
        ratio = ours["rps"] / mlflow_r["rps"]
        print(f"ours / mlflow throughput   {ratio:6.2f} x   (goal ≥ 5)      {'OK' if ratio >= 5 else 'MISSED'}")
    if ours and minimal:
        ratio = ours["rps"] / minimal["rps"]
        p99 = ours["p99"] / minimal["p99"]
        print(f"ours / minimal throughput  {ratio:6.2f} x   (goal ≥ 0.5)    {'OK' if ratio >= 0.5 else 'MISSED'}")
        print(f"ours / minimal p99         {p99:6.2f} x   (goal ≤ 2)      {'OK' if p99 <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
