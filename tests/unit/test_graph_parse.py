"""parse_graph: structural garbage raises GraphFormatError, everything else parses."""

import pytest

from pipelines.graph import Edge, Graph, GraphFormatError, Node, parse_graph


def node(node_id="load", block="dataset.builtin", **extra):
    return {"id": node_id, "block": block, "params": {}, "position": {"x": 0, "y": 0}, **extra}


def edge(source="load", source_port="table", target="split", target_port="table", **extra):
    return {
        "source": source,
        "source_port": source_port,
        "target": target,
        "target_port": target_port,
        **extra,
    }


def test_nodes_and_edges_become_dataclasses():
    graph = parse_graph(
        {
            "nodes": [node("load", params={"name": "iris"}), node("split", "data.split")],
            "edges": [edge()],
        }
    )
    assert isinstance(graph, Graph)
    assert graph.nodes[0] == Node(
        id="load",
        block="dataset.builtin",
        params={"name": "iris"},
        position={"x": 0, "y": 0},
        raw=node("load", params={"name": "iris"}),
    )
    assert graph.edges == [Edge("load", "table", "split", "table")]


def test_extra_node_keys_are_kept_in_raw():
    graph = parse_graph(
        {"nodes": [node(label="Iris", cache="always_rerun", timeout_seconds=30)], "edges": []}
    )
    raw = graph.nodes[0].raw
    assert (raw["label"], raw["cache"], raw["timeout_seconds"]) == ("Iris", "always_rerun", 30)


def test_extra_edge_keys_are_kept_in_raw_but_ignored_by_equality():
    graph = parse_graph({"nodes": [], "edges": [edge(id="e1")]})
    assert graph.edges[0].raw["id"] == "e1"
    assert graph.edges[0] == Edge("load", "table", "split", "table")


def test_an_empty_object_is_an_empty_graph():
    assert parse_graph({}) == Graph(nodes=[], edges=[])


def test_missing_params_and_position_default_to_empty_objects():
    graph = parse_graph({"nodes": [{"id": "a", "block": "b"}]})
    assert (graph.nodes[0].params, graph.nodes[0].position) == ({}, {})


def test_the_parsed_graph_does_not_share_state_with_the_input():
    data = {"nodes": [node(params={"name": "iris"})], "edges": []}
    graph = parse_graph(data)
    data["nodes"][0]["params"]["name"] = "wine"
    assert graph.nodes[0].params == {"name": "iris"}
    assert graph.nodes[0].raw["params"] == {"name": "iris"}


@pytest.mark.parametrize("data", [None, [], "graph", 3])
def test_a_graph_that_is_not_an_object_is_a_format_error(data):
    with pytest.raises(GraphFormatError, match="the graph must be a JSON object"):
        parse_graph(data)


def test_nodes_that_are_not_a_list_are_a_format_error():
    with pytest.raises(GraphFormatError, match="'nodes' must be a list, got an object"):
        parse_graph({"nodes": {"a": {}}, "edges": []})


def test_edges_that_are_not_a_list_are_a_format_error():
    with pytest.raises(GraphFormatError, match="'edges' must be a list"):
        parse_graph({"nodes": [], "edges": "load->split"})


def test_a_node_that_is_not_an_object_is_a_format_error():
    with pytest.raises(GraphFormatError, match="node #1 must be a JSON object"):
        parse_graph({"nodes": ["load"]})


@pytest.mark.parametrize("bad_id", [None, 3, ""])
def test_a_node_without_a_string_id_is_a_format_error(bad_id):
    with pytest.raises(GraphFormatError, match="node #2 needs an 'id'"):
        parse_graph({"nodes": [node("a"), node(bad_id)]})


def test_a_node_without_a_block_is_a_format_error_naming_the_node():
    with pytest.raises(GraphFormatError) as info:
        parse_graph({"nodes": [{"id": "a"}]})
    assert info.value.node_id == "a"


def test_a_duplicate_node_id_is_a_format_error_naming_the_node():
    with pytest.raises(GraphFormatError, match="node id 'a' is used twice") as info:
        parse_graph({"nodes": [node("a"), node("a")]})
    assert info.value.node_id == "a"


def test_params_that_are_not_an_object_are_a_format_error():
    with pytest.raises(GraphFormatError, match="'params' must be a JSON object, got a list"):
        parse_graph({"nodes": [node(params=[1])]})


def test_an_edge_missing_fields_is_a_format_error_naming_them():
    with pytest.raises(GraphFormatError, match="edge #1 is missing 'target_port'"):
        parse_graph({"edges": [{"source": "a", "source_port": "t", "target": "b"}]})


def test_an_edge_with_a_non_string_port_is_a_format_error():
    with pytest.raises(GraphFormatError, match="'source_port' must be non-empty strings"):
        parse_graph({"edges": [edge(source_port=1)]})
