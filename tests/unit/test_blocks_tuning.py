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


def _rss_mb() -> float:
    """This process's resident set size, from /proc (no psutil)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


# Nine parameters with ten values each: 10⁹ combinations, 5 × 10⁹ fits at 5 folds.
BILLION = {f"p{i}": list(range(10)) for i in range(9)}


def test_the_search_space_is_counted_without_listing_it():
    from pipelines.blocks.tuning import search_space_size

    assert search_space_size(BILLION) == 10**9
    assert search_space_size([{"a": [1, 2, 3], "b": [1, 2]}, {"c": [1, 2, 3, 4]}]) == 3 * 2 + 4
    assert search_space_size({f"p{i}": list(range(50)) for i in range(20)}) == 50**20


def test_a_billion_candidate_grid_is_refused_at_validation_naming_fits_and_limit():
    errors = TUNE.fanout.check_params(_params(parameters=BILLION, folds=5))

    assert errors == {
        "parameters": "1,000,000,000 candidates × 5 folds = 5,000,000,000 fits; "
        "the limit is 2,000 — try fewer values or a randomized search"
    }


def test_a_billion_candidate_grid_is_refused_by_prepare_before_anything_is_listed():
    before = _rss_mb()
    with pytest.raises(BlockError, match="5,000,000,000 fits; the limit is 2,000") as refused:
        TUNE.fanout.prepare(_inputs(), _params(parameters=BILLION, folds=5))

    assert refused.value.param == "parameters"
    assert abs(_rss_mb() - before) < 20


def test_a_random_search_over_ten_billion_combinations_lists_only_n_iter_of_them():
    fifty = [i / 50 for i in range(1, 51)]  # valid for every parameter below
    space = {"C": fifty, "tol": fifty, "intercept_scaling": fifty, "l1_ratio": fifty,
             "max_iter": list(range(100, 150)), "random_state": list(range(50))}  # 50⁶ ≈ 1.6 × 10¹⁰
    params = _params(search="random", n_iter=4, folds=3, parameters=space)

    before = _rss_mb()
    plan = TUNE.fanout.prepare(_inputs(), params)

    assert len(plan.candidates) == 4 and plan.trials == 12
    assert all(set(c) == set(space) for c in plan.candidates)
    assert abs(_rss_mb() - before) < 20


def test_a_random_search_is_refused_when_n_iter_times_folds_passes_the_limit():
    errors = TUNE.fanout.check_params(_params(search="random", n_iter=500, folds=5, parameters=BILLION))

    assert errors == {
        "n_iter": "500 candidates × 5 folds = 2,500 fits; the limit is 2,000 — lower n_iter or folds"
    }


def test_a_random_search_counts_the_space_when_it_is_smaller_than_n_iter():
    small = {"C": [0.1, 1, 10]}
    assert TUNE.fanout.check_params(_params(search="random", n_iter=500, folds=20, parameters=small)) == {}


def test_a_random_search_space_past_machine_integers_is_refused_clearly():
    huge = {f"p{i}": list(range(50)) for i in range(20)}

    errors = TUNE.fanout.check_params(_params(search="random", parameters=huge))

    assert list(errors) == ["parameters"]
    assert errors["parameters"].startswith(f"the search space has {50**20:,} combinations")


def test_a_grid_of_exactly_the_limit_passes_and_one_more_value_does_not():
    at_limit = {"C": list(range(1, 41)), "tol": list(range(1, 11))}  # 400 × 5 folds = 2000
    assert TUNE.fanout.check_params(_params(parameters=at_limit, folds=5)) == {}
    over = {"C": list(range(1, 42)), "tol": list(range(1, 11))}
    assert TUNE.fanout.check_params(_params(parameters=over, folds=5)) == {
        "parameters": "410 candidates × 5 folds = 2,050 fits; "
        "the limit is 2,000 — try fewer values or a randomized search"
    }


def test_the_shape_of_the_search_space_is_checked_at_validation_too():
    assert TUNE.fanout.check_params(_params(parameters={"C": 1})) == {
        "parameters": "parameter 'C': give a non-empty list of values to try, e.g. [1, 10, 100]"
    }
    assert TUNE.fanout.check_params(_params(parameters={"C": list(range(51))})) == {
        "parameters": "parameter 'C': at most 50 values (got 51)"
    }


def test_graph_validation_names_the_tune_node_whose_search_is_too_large():
    from pipelines.demo import tuned_breast_cancer_graph
    from pipelines.graph import parse_graph, validate_graph

    graph = tuned_breast_cancer_graph()
    next(n for n in graph["nodes"] if n["id"] == "tune")["params"]["parameters"] = BILLION

    before = _rss_mb()
    result = validate_graph(parse_graph(graph), catalogue())

    assert result.errors == {
        "tune": ["parameters: 1,000,000,000 candidates × 5 folds = 5,000,000,000 fits; "
                 "the limit is 2,000 — try fewer values or a randomized search"]
    }
    assert abs(_rss_mb() - before) < 20
