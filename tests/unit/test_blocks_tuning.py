"""model.tune: candidates, folds, trials and the gather, without any engine."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.blocks import catalogue
from pipelines.blocks.base import BlockError
from pipelines.blocks.data import load_builtin
from pipelines.blocks.params import validate_params

TUNE = catalogue().get("model.tune")


class Ctx:
    def __init__(self):
        self.lines = []

    def log(self, message):
        self.lines.append(message)

    def load_table(self, sha):  # pragma: no cover - not used here
        raise AssertionError


def _inputs():
    steps = [("standardscaler", StandardScaler()), ("logisticregression", LogisticRegression(max_iter=1000))]
    return {"estimator": steps, "table": load_builtin("breast_cancer")}


def _params(**overrides):
    params, errors = validate_params(
        TUNE.params_schema, {"parameters": {"C": [0.01, 0.1, 1, 10]}, "folds": 3, **overrides}
    )
    assert errors == {}
    return params


def test_a_grid_search_has_one_trial_per_candidate_and_fold():
    plan = TUNE.fanout.prepare(_inputs(), _params())
    assert TUNE.fanout.count(plan) == 4 * 3


def test_the_best_candidate_matches_scikit_learns_grid_search_on_the_same_folds():
    inputs, params = _inputs(), _params()

    outputs = TUNE.run(Ctx(), inputs, params)

    table = inputs["table"]
    X, y = table.drop(columns=["target"]), table["target"]
    reference = GridSearchCV(
        Pipeline(inputs["estimator"]),
        {"logisticregression__C": [0.01, 0.1, 1, 10]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="accuracy",
    ).fit(X, y)
    report = outputs["report"]
    assert report["best_params"] == {"C": reference.best_params_["logisticregression__C"]}
    assert report["best_score"] == pytest.approx(reference.best_score_)
    assert outputs["model"].named_steps["logisticregression"].C == report["best_params"]["C"]


def test_results_are_ranked_best_first():
    report = TUNE.run(Ctx(), _inputs(), _params())["report"]
    scores = [r["mean_score"] for r in report["results"]]
    assert scores == sorted(scores, reverse=True)
    assert [r["rank"] for r in report["results"]] == [1, 2, 3, 4]


def test_trials_in_any_order_give_the_same_result():
    inputs, params = _inputs(), _params()
    plan = TUNE.fanout.prepare(inputs, params)
    forward = {i: TUNE.fanout.trial(inputs, params, plan, i) for i in range(plan.trials)}
    backward = {i: TUNE.fanout.trial(inputs, params, plan, i) for i in reversed(range(plan.trials))}
    a = TUNE.fanout.finish(inputs, params, plan, forward)["report"]
    b = TUNE.fanout.finish(inputs, params, plan, backward)["report"]
    assert a["best_params"] == b["best_params"] and a["best_score"] == b["best_score"]


def test_a_random_search_tries_n_iter_candidates():
    params = _params(search="random", n_iter=3, parameters={"C": [0.01, 0.1, 1, 10, 100]})
    assert len(TUNE.fanout.prepare(_inputs(), params).candidates) == 3


def test_an_unknown_parameter_names_the_ones_that_exist():
    with pytest.raises(BlockError, match="has no parameter 'gamma'.*max_iter"):
        TUNE.fanout.prepare(_inputs(), _params(parameters={"gamma": [1, 2]}))


def test_a_candidate_that_fails_is_reported_and_the_rest_still_ranked():
    # l1_ratio=0.5 is a valid value, but lbfgs (the default solver) cannot fit it.
    report = TUNE.run(Ctx(), _inputs(), _params(parameters={"l1_ratio": [0.0, 0.5]}))["report"]
    failed = [r for r in report["results"] if r["rank"] is None]
    assert len(failed) == 1 and failed[0]["params"] == {"l1_ratio": 0.5} and "lbfgs" in failed[0]["error"]
    assert report["best_params"] == {"l1_ratio": 0.0}


def test_a_value_the_estimators_own_schema_refuses_is_refused_before_any_fit():
    with pytest.raises(BlockError, match="'C': must be > 0"):
        TUNE.fanout.prepare(_inputs(), _params(parameters={"C": [1, -5]}))


def test_parameters_a_graph_cannot_set_cannot_be_tuned_either():
    for name in ("memory", "n_jobs", "standardscaler__copy"):
        with pytest.raises(BlockError, match="that can be tuned"):
            TUNE.fanout.prepare(_inputs(), _params(parameters={name: [None]}))


def test_an_empty_search_space_says_what_to_write():
    with pytest.raises(BlockError, match='"C"'):
        TUNE.fanout.prepare(_inputs(), _params(parameters={}))
