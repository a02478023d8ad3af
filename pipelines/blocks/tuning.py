"""``model.tune``: grid or randomized search with k-fold cross-validation.

The search is a FanOut: ``prepare`` lists the candidates and folds, each
(candidate, fold) pair is one ``trial`` — a task of its own on whichever
worker is free — and ``finish`` ranks the candidates and refits the best one
on all rows. ``run`` does the same in-process, so both paths give the same
result for the same inputs and seed.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joblib import Parallel, delayed

from .base import ESTIMATOR, MODEL, REPORT, TABLE, Block, BlockError, Port, StepContext

MAX_VALUES_PER_PARAM = 50
MAX_TRIALS = 2000
SCORINGS = (
    "auto",
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "roc_auc",
    "r2",
    "neg_mean_absolute_error",
    "neg_root_mean_squared_error",
)


@dataclass(frozen=True)
class TunePlan:
    candidates: list[dict[str, Any]]  # parameter settings, keys as the user wrote them
    folds: list[tuple[Any, Any]]  # (train row positions, validation row positions)
    scoring: str
    final_step: str

    @property
    def trials(self) -> int:
        return len(self.candidates) * len(self.folds)


def _qualified(plan_final: str, name: str) -> str:
    """``C`` → ``logisticregression__C``; ``scaler__with_mean`` stays as written."""
    return name if "__" in name else f"{plan_final}__{name}"


def _search_space(params: Mapping[str, Any]) -> dict[str, list]:
    """The ``parameters`` param, checked for shape only: names → non-empty lists of ≤ 50 values."""
    grid = params.get("parameters") or {}
    if not isinstance(grid, dict) or not grid:
        raise BlockError(
            'say which parameters to try, e.g. {"C": [0.1, 1, 10]}', param="parameters"
        )
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise BlockError(
                f"parameter {name!r}: give a non-empty list of values to try, e.g. [1, 10, 100]",
                param="parameters",
            )
        if len(values) > MAX_VALUES_PER_PARAM:
            raise BlockError(
                f"parameter {name!r}: at most {MAX_VALUES_PER_PARAM} values (got {len(values)})",
                param="parameters",
            )
    return grid


def search_space_size(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]]) -> int:
    """How many combinations a grid holds, counted without listing any.

    The product of the list lengths per grid dict, summed over a list of dicts
    (``ParameterGrid``'s own count, which refuses counts past ``sys.maxsize``
    where this one is exact).
    """
    grids = [grid] if isinstance(grid, Mapping) else grid
    return sum(math.prod(len(values) for values in g.values()) for g in grids)


def _check_size(params: Mapping[str, Any], grid: Mapping[str, list]) -> int:
    """Refuse a search of more than MAX_TRIALS fits; return the number of candidates.

    Runs on the counts alone, before any candidate exists: a grid of 10⁹
    combinations costs a few multiplications here, where listing it would cost
    gigabytes.
    """
    combinations = search_space_size(grid)
    n_folds = int(params.get("folds", 5))
    if params.get("search", "grid") == "grid":
        candidates, param, hint = combinations, "parameters", "try fewer values or a randomized search"
    else:
        if combinations > sys.maxsize:
            # scikit-learn samples indices of the space as machine integers.
            raise BlockError(
                f"the search space has {combinations:,} combinations; a randomized search "
                f"samples from at most {sys.maxsize:,} — tune fewer parameters at once",
                param="parameters",
            )
        candidates, param, hint = min(int(params.get("n_iter", 10)), combinations), "n_iter", "lower n_iter or folds"
    fits = candidates * n_folds
    if fits > MAX_TRIALS:
        raise BlockError(
            f"{candidates:,} candidates × {n_folds} folds = {fits:,} fits; "
            f"the limit is {MAX_TRIALS:,} — {hint}",
            param=param,
        )
    return candidates


def _candidates(params: Mapping[str, Any], grid: Mapping[str, list], count: int) -> list[dict[str, Any]]:
    """The ``count`` candidates ``_check_size`` allowed, in scikit-learn's order.

    ``ParameterSampler`` over lists draws indices into the grid and decodes
    each one, so a random search lists only the candidates it tries.
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if params.get("search", "grid") == "grid":
        return [dict(c) for c in ParameterGrid(grid)]
    return [dict(c) for c in ParameterSampler(grid, n_iter=count, random_state=params.get("seed", 0))]


def _check_search_space(pipeline: Any, final: str, grid: Mapping[str, list]) -> None:
    """Every name must be a parameter its step's block lets a graph set, every value valid.

    The values reach ``set_params`` directly, so they get the same schema
    checks as the estimator node itself: nothing a graph could not set there
    (a cache folder, a callable, n_jobs) can be slipped in through a search.
    """
    from . import catalogue
    from .params import validate_value
    from .sklearn_blocks import public_path

    steps = dict(pipeline.steps)
    for name in grid:
        step_name, _, param = _qualified(final, name).partition("__")
        estimator = steps.get(step_name)
        if estimator is None:
            raise BlockError(
                f"parameter {name!r}: there is no step {step_name!r}; steps are: {', '.join(steps)}",
                param="parameters",
            )
        key = public_path(type(estimator))
        block = catalogue().get(key) if key else None
        properties = block.params_schema.get("properties", {}) if block else {}
        if param not in properties:
            raise BlockError(
                f"{type(estimator).__name__} has no parameter {param!r} that can be tuned; "
                f"it has: {', '.join(sorted(properties)) or 'none'}",
                param="parameters",
            )
        for value in grid[name]:
            _, error = validate_value(properties[param], value)
            if error:
                raise BlockError(f"parameter {name!r}: {error}", param="parameters")


class TuneSearch:
    """The FanOut of ``model.tune`` (see base.FanOut)."""

    def check_params(self, params: Mapping[str, Any]) -> dict[str, str]:
        """What can be told from the params alone, at graph validation: the
        search space's shape and its size in fits. Errors keyed by param name."""
        try:
            _check_size(params, _search_space(params))
        except BlockError as exc:
            return {exc.param or "parameters": exc.message}
        return {}

    def prepare(self, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> TunePlan:
        from sklearn.base import is_classifier
        from sklearn.model_selection import KFold, StratifiedKFold

        from .training import check_training_data, make_pipeline

        grid = _search_space(params)
        # Validation refused oversized searches already; counting again, first,
        # keeps a worker safe from params that never went through it.
        count = _check_size(params, grid)
        steps = inputs["estimator"]
        table = inputs["table"]
        features, y = check_training_data(steps, table, params.get("target", "target"))
        pipeline = make_pipeline(steps)
        final = pipeline.steps[-1][0]
        _check_search_space(pipeline, final, grid)
        candidates = _candidates(params, grid, count)
        n_folds = int(params.get("folds", 5))
        if len(table) < 2 * n_folds:
            raise BlockError(f"{len(table)} rows are too few for {n_folds}-fold cross-validation")
        seed = params.get("seed", 0)
        if is_classifier(pipeline):
            smallest = int(y.value_counts().min())
            if smallest < n_folds:
                raise BlockError(
                    f"the rarest class has {smallest} row(s); {n_folds}-fold cross-validation "
                    f"needs at least {n_folds} per class — lower 'folds'",
                    param="folds",
                )
            splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = list(splitter.split(features, y))
        scoring = params.get("scoring", "auto")
        if scoring == "auto":
            scoring = "accuracy" if is_classifier(pipeline) else "r2"
        return TunePlan(candidates=candidates, folds=folds, scoring=scoring, final_step=final)

    def count(self, plan: TunePlan) -> int:
        return plan.trials

    def trial(
        self, inputs: Mapping[str, Any], params: Mapping[str, Any], plan: TunePlan, index: int
    ) -> dict[str, Any]:
        from sklearn.metrics import get_scorer

        from .training import make_pipeline, split_target

        candidate_index, fold_index = divmod(index, len(plan.folds))
        candidate = plan.candidates[candidate_index]
        train_rows, test_rows = plan.folds[fold_index]
        features, y = split_target(inputs["table"], params.get("target", "target"))
        pipeline = make_pipeline(inputs["estimator"])
        started = time.perf_counter()
        try:
            pipeline.set_params(**{_qualified(plan.final_step, k): v for k, v in candidate.items()})
            pipeline.fit(features.iloc[train_rows], y.iloc[train_rows])
            score = float(get_scorer(plan.scoring)(pipeline, features.iloc[test_rows], y.iloc[test_rows]))
        except Exception as exc:  # noqa: BLE001 - one bad candidate must not sink the search
            return {"candidate": candidate_index, "fold": fold_index, "score": None,
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                    "seconds": time.perf_counter() - started}
        return {"candidate": candidate_index, "fold": fold_index, "score": score,
                "seconds": time.perf_counter() - started}

    def finish(
        self,
        inputs: Mapping[str, Any],
        params: Mapping[str, Any],
        plan: TunePlan,
        results: Mapping[int, dict[str, Any]],
    ) -> dict[str, Any]:
        import numpy as np

        from .training import check_training_data, fit_with_hints, make_pipeline

        rows = []
        for c, candidate in enumerate(plan.candidates):
            trials = [results[c * len(plan.folds) + f] for f in range(len(plan.folds))]
            scores = [t["score"] for t in trials if t.get("score") is not None]
            errors = [t["error"] for t in trials if t.get("error")]
            complete = len(scores) == len(plan.folds)
            rows.append({
                "params": candidate,
                "mean_score": float(np.mean(scores)) if complete else None,
                "std_score": float(np.std(scores)) if complete else None,
                "fold_scores": [t.get("score") for t in trials],
                "fit_seconds": float(sum(t.get("seconds", 0.0) for t in trials)),
                "error": errors[0] if errors else None,
            })
        scored = [r for r in rows if r["mean_score"] is not None]
        if not scored:
            raise BlockError(f"every candidate failed; the first error: {rows[0]['error']}")
        scored.sort(key=lambda r: -r["mean_score"])
        for rank, row in enumerate(scored, start=1):
            row["rank"] = rank
        failed = [r for r in rows if r["mean_score"] is None]
        for row in failed:
            row["rank"] = None
        best = scored[0]
        steps = inputs["estimator"]
        target = params.get("target", "target")
        features, y = check_training_data(steps, inputs["table"], target)
        pipeline = make_pipeline(steps)
        pipeline.set_params(**{_qualified(plan.final_step, k): v for k, v in best["params"].items()})
        model = fit_with_hints(pipeline, steps, features, y, target)
        model.target_ = target  # model.evaluate and the registry read it
        model.feature_columns_ = [str(c) for c in features.columns]
        report = {
            "kind": "tuning",
            "scoring": plan.scoring,
            "folds": len(plan.folds),
            "candidates": len(plan.candidates),
            "best_params": best["params"],
            "best_score": best["mean_score"],
            "results": scored + failed,
            "headline": {"name": f"cv {plan.scoring}", "value": best["mean_score"]},
        }
        return {MODEL: model, REPORT: report}


SEARCH = TuneSearch()


def _run_tune(ctx: StepContext, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    plan = SEARCH.prepare(inputs, params)
    ctx.log(f"{len(plan.candidates)} candidates × {len(plan.folds)} folds = {plan.trials} fits, in-process")
    # Sequential by default; on the Dask backend (TRAINING_BACKEND) the fits spread over the cluster.
    scores = Parallel()(delayed(SEARCH.trial)(inputs, params, plan, i) for i in range(plan.trials))
    results = dict(enumerate(scores))
    return SEARCH.finish(inputs, params, plan, results)


MODEL_TUNE = Block(
    key="model.tune",
    label="Tune hyperparameters",
    category="Training",
    description=(
        "Try several parameter values of the connected model with k-fold cross-validation "
        "(grid or randomized search), spread over all workers; outputs the best model, "
        "refitted on all rows, and a ranked results table."
    ),
    inputs=(
        Port(ESTIMATOR, ESTIMATOR, description="the steps to tune; the parameters are the last step's"),
        Port(TABLE, TABLE, description="training rows, features plus the target column"),
    ),
    outputs=(
        Port(MODEL, MODEL, description="the best candidate, refitted on all rows"),
        Port(REPORT, REPORT, kind="tuning", description="every candidate's mean and std score and rank"),
    ),
    params_schema={
        "type": "object",
        "properties": {
            "target": {"type": "string", "default": "target", "title": "Target column",
                       "description": "The column holding the label; every other column is a feature."},
            "parameters": {"type": "object", "default": {}, "title": "Parameters to try",
                           "description": 'Values to try per parameter of the last step, e.g. '
                           '{"C": [0.1, 1, 10], "solver": ["lbfgs", "liblinear"]}. '
                           'Name an earlier step\'s parameter as step__name.'},
            "search": {"type": "string", "enum": ["grid", "random"], "default": "grid",
                       "title": "Search", "description": "grid tries every combination; random "
                       "samples n_iter of them."},
            "n_iter": {"type": "integer", "minimum": 1, "maximum": 500, "default": 10,
                       "title": "Random candidates", "description": "How many combinations a random search tries."},
            "folds": {"type": "integer", "minimum": 2, "maximum": 20, "default": 5,
                      "title": "Folds", "description": "k in k-fold cross-validation."},
            "scoring": {"type": "string", "enum": list(SCORINGS), "default": "auto", "title": "Scoring",
                        "description": "What to maximise; auto is accuracy for classifiers, R² for regressors."},
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1, "default": 0,
                     "title": "Seed", "description": "Fixes the folds and the random search."},
        },
        "required": [],
        "additionalProperties": False,
    },
    run=_run_tune,
    curated=True,
    tags=("training", "tuning"),
    column_params=("target",),
    fanout=SEARCH,
)
