"""model.tune's size limit: refused at graph validation, counted without listing candidates."""

import pytest

from pipelines.demo import tuned_breast_cancer_graph
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Nine parameters with ten values each: 10⁹ combinations, 5 × 10⁹ fits at 5 folds.
BILLION = {f"p{i}": list(range(10)) for i in range(9)}
REFUSAL = (
    "parameters: 1,000,000,000 candidates × 5 folds = 5,000,000,000 fits; "
    "the limit is 2,000 — try fewer values or a randomized search"
)


def _rss_mb() -> float:
    """This process's resident set size, from /proc (no psutil)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _tune_graph(**tune_params) -> dict:
    graph = tuned_breast_cancer_graph()
    next(n for n in graph["nodes"] if n["id"] == "tune")["params"].update(tune_params)
    return graph


def _pipeline(client, graph) -> dict:
    response = client.post("/api/pipelines/", {"name": "tuned", "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_validating_a_billion_candidate_search_names_the_tune_node_and_grows_nothing(owner_api):
    pipeline = _pipeline(owner_api, _tune_graph(parameters=BILLION))
    url = f"/api/pipelines/{pipeline['id']}/validate/"
    owner_api.post(url, {}, format="json")  # warm up imports and caches before measuring

    before = _rss_mb()
    response = owner_api.post(url, {}, format="json")

    assert response.status_code == 200
    assert response.json() == {"valid": False, "errors": {"tune": [REFUSAL]}, "graph_errors": []}
    assert abs(_rss_mb() - before) < 20


def test_starting_a_run_of_a_billion_candidate_search_is_refused_with_400_and_no_run(owner_api):
    pipeline = _pipeline(owner_api, _tune_graph(parameters=BILLION))
    url = f"/api/pipelines/{pipeline['id']}/runs/"
    owner_api.post(f"/api/pipelines/{pipeline['id']}/validate/", {}, format="json")  # warm up

    before = _rss_mb()
    response = owner_api.post(url, {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"tune": [REFUSAL]}
    assert response.json()["valid"] is False
    assert abs(_rss_mb() - before) < 20
    assert owner_api.get(url).json()["count"] == 0


def test_a_random_search_over_a_huge_space_within_the_fit_limit_is_valid(owner_api):
    pipeline = _pipeline(owner_api, _tune_graph(parameters=BILLION, search="random", n_iter=20))

    response = owner_api.post(f"/api/pipelines/{pipeline['id']}/validate/", {}, format="json")

    assert response.json() == {"valid": True, "errors": {}, "graph_errors": []}


def test_a_legal_random_search_still_runs_on_the_worker(owner_api, celery_worker_process):
    space = {"C": [0.001, 0.01, 0.1, 1, 10, 100], "tol": [1e-4, 1e-3, 1e-2]}  # 18 combinations
    pipeline = _pipeline(owner_api, _tune_graph(parameters=space, search="random", n_iter=3, folds=2))

    started = owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {"use_cache": False}, format="json")
    assert started.status_code == 201, started.content
    run = wait_for_run(owner_api, started.json()["id"], timeout=180)

    assert run["status"] == "succeeded", run["error"]
    report = next(s for s in run["steps"] if s["node_id"] == "tune")["summary"]["outputs"]["report"]
    assert report["candidates"] == 3 and report["folds"] == 2
    assert [r["rank"] for r in report["results"]] == [1, 2, 3]
    assert all(r["params"]["C"] in space["C"] and r["params"]["tol"] in space["tol"] for r in report["results"])
