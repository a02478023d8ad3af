"""Drift on 1,000,000 rows × 20 columns against a 10,000-row reference: ours vs Evidently.

    .venv/bin/python bench/drift.py

10 numeric and 10 categorical columns, some shifted, a few with blanks. Both
sides get the same Parquet files and decide every column with Evidently's
DataDriftPreset defaults; the bench asserts the per-column decisions (method and
drifted or not) agree and that ours takes at most 1.0× Evidently's time.

Evidently is never a dependency of the app: the bench installs it into its own
venv under var/ (``var/evidently-venv``, pinned below) and runs it in a
subprocess that loads the data once and times each run itself. Runs alternate
(ours, Evidently, ours, …) and the medians are compared, so machine noise hits
both sides alike. Reading the Parquet files is outside both timings.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVIDENTLY = "evidently==0.7.23"
EVIDENTLY_PINS = ["pandas<3"]  # evidently 0.7 imports a helper pandas 3 removed
VENV = ROOT / "var" / "evidently-venv"
DATA = ROOT / "var" / "bench-drift"
ROWS, REFERENCE_ROWS, ROUNDS = 1_000_000, 10_000, 3
NUMERIC = [f"num{i}" for i in range(10)]
CATEGORICAL = [f"cat{i}" for i in range(10)]


def evidently_python() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / f".installed-{EVIDENTLY}"
    if not marker.exists():
        print(f"installing {EVIDENTLY} into {VENV.relative_to(ROOT)} (once) …", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", EVIDENTLY, *EVIDENTLY_PINS],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"Evidently could not be installed, so there is nothing to compare with:\n{result.stderr[-2000:]}")
        marker.touch()
    return python


def make_data() -> tuple[Path, Path]:
    """Reference: 10k rows; current: 1M rows where some columns moved (seeded)."""
    DATA.mkdir(parents=True, exist_ok=True)
    reference_path, current_path = DATA / "reference.parquet", DATA / "current.parquet"
    if reference_path.exists() and current_path.exists():
        return reference_path, current_path
    rng = np.random.default_rng(7)

    def table(rows: int, current: bool) -> pd.DataFrame:
        columns: dict[str, object] = {}
        for i, name in enumerate(NUMERIC):
            shift = [0, 0, 0, 0, 0.02, 0.05, 0.2, 0.5, 0, 0][i] if current else 0
            scale = 1.6 if current and i == 8 else 1.0
            values = rng.normal(10 * i + shift * (i + 1), scale * (i + 1), rows)
            if i == 9:
                values = np.round(values)  # fewer distinct values
            if i in (2, 3):
                values[rng.random(rows) < 0.01] = np.nan
            columns[name] = values
        for i, name in enumerate(CATEGORICAL):
            levels = [f"v{k}" for k in range([2, 3, 4, 5, 8, 10, 20, 30, 40, 50][i])]
            weights = np.linspace(1, 2, len(levels))
            if current and i in (1, 4, 7):
                weights = weights[::-1]
            if current and i == 9:
                levels = levels + ["new"]
                weights = np.append(weights, weights.sum() * 0.1)
            column = rng.choice(levels, rows, p=weights / weights.sum()).astype(object)
            if i == 5:
                column[rng.random(rows) < 0.02] = None
            columns[name] = column
        return pd.DataFrame(columns)

    table(REFERENCE_ROWS, False).to_parquet(reference_path)
    table(ROWS, True).to_parquet(current_path)
    return reference_path, current_path


def ours(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[float, dict]:
    from pipelines.monitoring import drift

    kinds = {**{c: drift.NUMERIC for c in NUMERIC}, **{c: drift.CATEGORICAL for c in CATEGORICAL}}
    started = time.perf_counter()
    result = drift.dataset_drift(reference, current, kinds)
    seconds = time.perf_counter() - started
    return seconds, {f["name"]: [f["method"], f["score"], f["drifted"]] for f in result["features"]}


def main() -> None:
    python = evidently_python()
    reference_path, current_path = make_data()
    worker = subprocess.Popen(
        [str(python), str(ROOT / "bench" / "_evidently_drift.py"), str(reference_path), str(current_path),
         ",".join(NUMERIC), ",".join(CATEGORICAL)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    try:
        ready = json.loads(worker.stdout.readline())
        print(f"evidently {ready['evidently']} (pandas {ready['pandas']}) vs ours (pandas {pd.__version__}); "
              f"current {len(current):,} × {current.shape[1]}, reference {len(reference):,}", flush=True)
        mine_times, theirs_times = [], []
        for round_ in range(ROUNDS):
            seconds, mine = ours(reference, current)
            mine_times.append(seconds)
            worker.stdin.write("run\n")
            worker.stdin.flush()
            theirs = json.loads(worker.stdout.readline())
            theirs_times.append(theirs["seconds"])
            print(f"round {round_ + 1}: ours {seconds:.2f} s, evidently {theirs['seconds']:.2f} s", flush=True)
    finally:
        worker.stdin.close()
        worker.wait(timeout=60)

    disagreements = [
        f"{name}: ours {mine[name][0]} {mine[name][2]} ({mine[name][1]}), evidently {method} {drifted} ({score})"
        for name, (method, score, drifted) in theirs["columns"].items()
        if mine[name][0] != method or mine[name][2] != drifted
    ]
    drifted = sorted(name for name, (_, _, d) in mine.items() if d)
    print(f"per-column decisions agree: {len(mine) - len(disagreements)}/{len(mine)} "
          f"(drifted: {', '.join(drifted)}; evidently counted {theirs['drifted_count']:.0f})")
    largest = max(abs(mine[n][1] - s) / max(abs(s), 1e-12) for n, (_, s, _) in theirs["columns"].items())
    print(f"largest relative score difference: {largest:.2e}")
    ratio = statistics.median(mine_times) / statistics.median(theirs_times)
    print(f"drift {ROWS:,} × {len(NUMERIC) + len(CATEGORICAL)} vs {REFERENCE_ROWS:,} reference: "
          f"ours median {statistics.median(mine_times):.2f} s, Evidently DataDriftPreset median "
          f"{statistics.median(theirs_times):.2f} s, ratio {ratio:.3f}× (goal ≤ 1.0×)")
    assert not disagreements, "\n".join(disagreements)
    assert len(drifted) == theirs["drifted_count"], (drifted, theirs["drifted_count"])
    assert ratio <= 1.0, f"ours is {ratio:.2f}× Evidently's time"


if __name__ == "__main__":
    main()
