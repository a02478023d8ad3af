"""No parameter makes a worker read, write or unpickle files on the server.

scikit-learn estimators take a few parameters that touch the file system
(``input="filename"`` reads each "document" as a path; ``memory`` caches fitted
steps as pickles in a folder). The catalogue does not expose them: validation
names the parameter, the blocks refuse it, and tuning cannot set it either.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.blocks import catalogue
from pipelines.blocks.base import BlockError
from pipelines.blocks.tuning import _run_tune
from pipelines.graph.builder import GraphBuilder


class _Ctx:
    def log(self, message: str) -> None:
        pass


def _estimator_steps(*blocks: tuple[str, dict]):
    steps: list = []
    for key, params in blocks:
        block = catalogue().get(key)
        steps = block.run(_Ctx(), {"estimator": steps} if steps else {}, params)["estimator"]
    return steps


TABLE = pd.DataFrame(
    {
        "a": [1.0, 2, 3, 4, 5, 6, 7, 8],
        "b": [3.0, 4, 5, 6, 1, 2, 3, 4],
        "target": [0, 1, 0, 1, 0, 1, 0, 1],
    }
)

FILE_PARAMS = [
    ("sklearn.feature_extraction.text.CountVectorizer", {"input": "filename"}),
    ("sklearn.feature_extraction.text.TfidfVectorizer", {"input": "filename"}),
    ("sklearn.feature_extraction.text.HashingVectorizer", {"input": "filename"}),
    ("sklearn.cluster.FeatureAgglomeration", {"memory": "/tmp/anywhere"}),
    ("sklearn.cluster.AgglomerativeClustering", {"memory": "/tmp/anywhere"}),
]


@pytest.mark.django_db
def test_validation_names_every_param_that_would_make_the_worker_touch_server_files(owner_api):
    pipeline = owner_api.post(
        "/api/pipelines/", {"name": "files", "graph": GraphBuilder().build()}, format="json"
    ).json()
    errors = {}
    for block, params in FILE_PARAMS:
        graph = GraphBuilder().node("step", block, **params).build()
        response = owner_api.post(
            f"/api/pipelines/{pipeline['id']}/validate/", {"graph": graph}, format="json"
        )
        body = response.json()
        # "input: unknown parameter 'input'; known: encoding, …": the list of known ones is
        # scikit-learn's business, the refusal is ours.
        errors[block] = (
            response.status_code,
            body["valid"],
            {node: [m.split("; known: ")[0] for m in ms] for node, ms in body["errors"].items()},
        )

    assert errors == {
        block: (200, False, {"step": [f"{name}: unknown parameter {name!r}"]})
        for block, params in FILE_PARAMS
        for name in params
    }


@pytest.mark.parametrize(
    ("block", "params"), FILE_PARAMS, ids=[block.rsplit(".", 1)[1] for block, _ in FILE_PARAMS]
)
def test_a_block_refuses_a_param_that_touches_server_files_naming_it(block, params):
    name = next(iter(params))
    label = block.rsplit(".", 1)[1]

    with pytest.raises(BlockError) as refused:
        _estimator_steps((block, params))

    assert refused.value.message == f"{label} has no parameter {name!r} that can be set here"


def test_tuning_refuses_to_set_a_memory_cache_folder_and_writes_nothing(tmp_path):
    cache = tmp_path / "tune-cache"
    steps = _estimator_steps(
        ("sklearn.cluster.FeatureAgglomeration", {"n_clusters": 1}),
        ("sklearn.linear_model.LogisticRegression", {}),
    )

    with pytest.raises(BlockError) as refused:
        _run_tune(
            _Ctx(),
            {"estimator": steps, "table": TABLE},
            {"parameters": {f"{steps[0][0]}__memory": [str(cache)]}, "folds": 2, "target": "target"},
        )

    assert refused.value.message == (
        "FeatureAgglomeration has no parameter 'memory' that can be tuned; it has: "
        "compute_distances, compute_full_tree, distance_threshold, linkage, metric, n_clusters"
    )
    assert not cache.exists()


def test_tuning_refuses_a_parameter_the_estimators_block_does_not_expose():
    steps = _estimator_steps(("sklearn.linear_model.LogisticRegression", {}))

    with pytest.raises(BlockError) as refused:
        _run_tune(
            _Ctx(),
            {"estimator": steps, "table": TABLE},
            {"parameters": {"n_jobs": [-1]}, "folds": 2, "target": "target"},
        )

    assert refused.value.message == (
        "LogisticRegression has no parameter 'n_jobs' that can be tuned; it has: "
        "C, class_weight, dual, fit_intercept, intercept_scaling, l1_ratio, max_iter, "
        "random_state, solver, tol"
    )
