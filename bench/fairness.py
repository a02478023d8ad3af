"""The fairness report against a direct fairlearn call, on 100k rows with 200 bootstraps.

    .venv/bin/python bench/fairness.py [rounds]     # default 2: the baseline is slow

A (baseline): what a user would write with fairlearn alone — one ``MetricFrame``
with the five classification metrics and ``n_boot=200`` (its bootstrap
intervals), plus ``demographic_parity_difference``/``ratio`` and
``equalized_odds_difference``. B: ``rai.fairness``'s computation
(``fairness.classification_fairness``): the same point estimates through
fairlearn, and the intervals of every group metric and of the three parity
numbers from one multinomial draw of the per-group confusion counts.

Both run on the same 100k predictions, interleaved A, B, A, B … so machine
noise hits both alike; the figure is the ratio of the medians (goal ≤ 1.2).
Plain Python: no database or worker needed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS = 100_000
RESAMPLES = 200
GOAL = 1.2


def data():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    group = pd.Series(rng.choice(["a", "b", "c"], size=ROWS, p=[0.6, 0.3, 0.1]), name="group")
    y_true = (rng.uniform(size=ROWS) < 0.5).astype(int)
    flip = rng.uniform(size=ROWS) < np.where(group == "a", 0.15, 0.3)
    y_pred = np.where(flip, 1 - y_true, y_true)
    return y_true, y_pred, group


def direct_fairlearn(y_true, y_pred, group) -> None:
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "precision": lambda t, p: precision_score(t, p, zero_division=0),
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
        n_boot=RESAMPLES,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    frame.by_group_ci  # noqa: B018 - the intervals are what is asked for
    demographic_parity_difference(y_true, y_pred, sensitive_features=group)
    demographic_parity_ratio(y_true, y_pred, sensitive_features=group)
    equalized_odds_difference(y_true, y_pred, sensitive_features=group)


def ours(y_true, y_pred, group) -> None:
    from pipelines.blocks.fairness import classification_fairness

    classification_fairness(y_true, y_pred, group, resamples=RESAMPLES, seed=0)


def main(rounds: int) -> None:
    y_true, y_pred, group = data()
    # Imports (fairlearn's too) and first-call costs out of the way. The baseline is not
    # warmed separately: one call of it is minutes of CPU, where imports are a second.
    ours(y_true, y_pred, group)
    a, b = [], []
    for index in range(rounds):
        for times, fn in ((a, direct_fairlearn), (b, ours)):
            started = time.perf_counter()
            fn(y_true, y_pred, group)
            times.append(time.perf_counter() - started)
            print(f"round {index + 1}: {fn.__name__} {times[-1]:.3f} s", flush=True)
    ratio = statistics.median(b) / statistics.median(a)
    print(f"rows={ROWS} resamples={RESAMPLES} rounds={rounds}")
    print(f"direct fairlearn (MetricFrame n_boot={RESAMPLES} + parity functions): median {statistics.median(a):.3f} s")
    print(f"rai.fairness computation: median {statistics.median(b):.3f} s")
    print(f"ratio rai.fairness / direct fairlearn = {ratio:.3f} (goal <= {GOAL}) {'OK' if ratio <= GOAL else 'OVER'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
