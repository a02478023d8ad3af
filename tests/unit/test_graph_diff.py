"""graph_diff: what changed between two graph versions."""

import copy

from pipelines.graph import graph_diff
from pipelines.graph.builder import GraphBuilder


def graph():
    return (
        GraphBuilder()
        .node("load", "dataset.builtin", at=(0, 0), name="iris")
        .node("clf", "sklearn.linear_model.LogisticRegression", C=1.0)
        .node("train", "model.train", target="target")
        .edge("clf.estimator", "train.estimator")
        .edge("load.table", "train.table")
        .build()
    )


def nodes_of(diff):
    return diff["nodes"]


def test_equal_graphs_are_identical():
    diff = graph_diff(graph(), graph())
    assert diff == {
        "nodes": {"added": [], "removed": [], "changed": []},
        "edges": {"added": [], "removed": []},
        "identical": True,
    }


def test_moving_a_node_is_not_a_change():
    new = graph()
    new["nodes"][0]["position"] = {"x": 300, "y": 40}
    assert graph_diff(graph(), new)["identical"]


def test_added_and_removed_nodes_are_listed_with_their_block():
    new = graph()
    new["nodes"][1] = {"id": "rf", "block": "sklearn.ensemble.RandomForestClassifier"}
    diff = graph_diff(graph(), new)
    assert nodes_of(diff)["added"] == [
        {"id": "rf", "block": "sklearn.ensemble.RandomForestClassifier"}
    ]
    assert nodes_of(diff)["removed"] == [
        {"id": "clf", "block": "sklearn.linear_model.LogisticRegression"}
    ]


def test_a_changed_param_shows_old_and_new_values():
    new = graph()
    new["nodes"][1]["params"]["C"] = 0.1
    assert nodes_of(graph_diff(graph(), new))["changed"] == [
        {"id": "clf", "params": {"C": {"old": 1.0, "new": 0.1}}}
    ]


def test_a_param_set_on_one_side_only_has_only_that_side():
    new = graph()
    new["nodes"][1]["params"] = {"max_iter": 500}
    assert nodes_of(graph_diff(graph(), new))["changed"][0]["params"] == {
        "C": {"old": 1.0},
        "max_iter": {"new": 500},
    }


def test_a_param_switched_from_1_to_true_is_a_change():
    old, new = graph(), graph()
    old["nodes"][1]["params"]["fit_intercept"] = 1
    new["nodes"][1]["params"]["fit_intercept"] = True
    assert nodes_of(graph_diff(old, new))["changed"][0]["params"] == {
        "fit_intercept": {"old": 1, "new": True}
    }


def test_a_block_change_shows_old_and_new_keys():
    new = graph()
    new["nodes"][1]["block"] = "sklearn.svm.SVC"
    change = nodes_of(graph_diff(graph(), new))["changed"][0]
    assert change["block"] == {
        "old": "sklearn.linear_model.LogisticRegression",
        "new": "sklearn.svm.SVC",
    }


def test_other_node_settings_are_reported_as_fields():
    new = graph()
    new["nodes"][0]["cache"] = "always_rerun"
    assert nodes_of(graph_diff(graph(), new))["changed"] == [
        {"id": "load", "fields": {"cache": {"new": "always_rerun"}}}
    ]


def test_added_and_removed_edges_are_listed():
    new = graph()
    new["edges"][1] = {
        "source": "load",
        "source_port": "table",
        "target": "clf",
        "target_port": "table",
    }
    diff = graph_diff(graph(), new)
    assert diff["edges"] == {
        "added": [
            {"source": "load", "source_port": "table", "target": "clf", "target_port": "table"}
        ],
        "removed": [
            {"source": "load", "source_port": "table", "target": "train", "target_port": "table"}
        ],
    }
    assert not diff["identical"]


def test_edge_order_does_not_matter():
    new = graph()
    new["edges"].reverse()
    assert graph_diff(graph(), new)["identical"]


def test_the_inputs_are_not_modified():
    old, new = graph(), graph()
    new["nodes"][1]["params"]["C"] = 3
    snapshot = copy.deepcopy((old, new))
    graph_diff(old, new)
    assert (old, new) == snapshot
