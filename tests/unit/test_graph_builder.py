"""GraphBuilder: graph JSON in the stored shape, built in code."""

from __future__ import annotations

from pipelines.graph import parse_graph
from pipelines.graph.builder import GraphBuilder


def test_nodes_and_edges_come_out_in_the_stored_shape_and_order():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("split", "data.split", at=(260, 0), test_size=0.25)
        .edge("load.table", "split.table")
        .build()
    )

    assert graph == {
        "nodes": [
            {"id": "load", "block": "dataset.builtin", "params": {"name": "iris"}},
            {
                "id": "split",
                "block": "data.split",
                "params": {"test_size": 0.25},
                "position": {"x": 260, "y": 0},
            },
        ],
        "edges": [
            {"source": "load", "source_port": "table", "target": "split", "target_port": "table"}
        ],
    }
    assert list(graph["nodes"][1]) == ["id", "block", "params", "position"]


def test_node_options_sit_beside_params_and_odd_param_names_go_through_params():
    graph = (
        GraphBuilder()
        .node(
            "tune",
            "model.tune",
            params={"at": 1, "lr__C": [1, 10]},
            options={"cache": "always_rerun", "timeout_seconds": 30},
            folds=3,
        )
        .build()
    )

    assert graph["nodes"] == [
        {
            "id": "tune",
            "block": "model.tune",
            "params": {"at": 1, "lr__C": [1, 10], "folds": 3},
            "cache": "always_rerun",
            "timeout_seconds": 30,
        }
    ]


def test_an_edge_endpoint_splits_at_the_last_dot_so_node_ids_may_hold_dots():
    graph = GraphBuilder().edge("v1.load.table", "v1.split.table").build()

    assert graph["edges"] == [
        {"source": "v1.load", "source_port": "table", "target": "v1.split", "target_port": "table"}
    ]


def test_each_build_is_a_fresh_copy():
    builder = GraphBuilder().node("load", "dataset.builtin", name="iris")
    first = builder.build()
    first["nodes"][0]["params"]["name"] = "wine"
    first["edges"].append({})

    assert builder.build() == {
        "nodes": [{"id": "load", "block": "dataset.builtin", "params": {"name": "iris"}}],
        "edges": [],
    }


def test_a_built_graph_parses():
    graph = parse_graph(
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris", at=(0, 0))
        .node("split", "data.split")
        .edge("load.table", "split.table")
        .build()
    )

    assert [n.id for n in graph.nodes] == ["load", "split"]
    assert graph.nodes[0].position == {"x": 0, "y": 0}
