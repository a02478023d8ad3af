"""Evidently's side of bench/drift.py; runs in var/evidently-venv, never in the app's venv.

    python _evidently_drift.py REFERENCE.parquet CURRENT.parquet NUMERIC,COLUMNS CATEGORICAL,COLUMNS

Loads both tables once, then for each line "run" on stdin runs a Report with
DataDriftPreset() (all defaults) and prints one JSON line: the seconds the run
took and each column's method, score and decision.
"""

from __future__ import annotations

import json
import sys
import time

import evidently
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

# Evidently's display names → the method names its registry (and our module) use.
METHODS = {
    "K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
}
P_VALUES = {"chisquare", "z"}  # drift when p < threshold; K-S: p ≤ threshold; distances: ≥


def decided(method: str, score: float, threshold: float) -> bool:
    if method == "ks":
        return score <= threshold
    if method in P_VALUES:
        return score < threshold
    return score >= threshold


def main() -> None:
    reference = pd.read_parquet(sys.argv[1])
    current = pd.read_parquet(sys.argv[2])
    definition = DataDefinition(numerical_columns=sys.argv[3].split(","), categorical_columns=sys.argv[4].split(","))
    print(json.dumps({"ready": True, "evidently": evidently.__version__, "pandas": pd.__version__}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        started = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        seconds = time.perf_counter() - started
        columns, drifted_count = {}, None
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config["type"].endswith("DriftedColumnsCount"):
                drifted_count = metric["value"]["count"]
            elif config["type"].endswith("ValueDrift"):
                method = METHODS[config["method"]]
                score = float(metric["value"])
                columns[config["column"]] = [method, score, bool(decided(method, score, config["threshold"]))]
        print(json.dumps({"seconds": seconds, "columns": columns, "drifted_count": drifted_count}), flush=True)


if __name__ == "__main__":
    main()
