"""validate_graph: every kind of error, keyed by node id, without cascades."""

from pipelines.blocks.base import ESTIMATOR, METRICS, MODEL, TABLE, Port
from pipelines.graph import Node, parse_graph, validate_graph
from pipelines.graph.builder import GraphBuilder
from tests.unit.stub_blocks import stub_block

CATALOGUE = {
    b.key: b
    for b in [
        stub_block(
            "stub.source", outputs=[Port("table", TABLE)], seed={"type": "integer", "default": 0}
        ),
        stub_block(
            "stub.scaler",
            inputs=[Port("estimator", ESTIMATOR, required=False)],
            outputs=[Port("estimator", ESTIMATOR)],
        ),
        stub_block(
            "stub.classifier",
            inputs=[Port("estimator", ESTIMATOR, required=False)],
            outputs=[Port("estimator", ESTIMATOR)],
            C={"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        ),
        stub_block(
            "stub.train",
            inputs=[Port("estimator", ESTIMATOR), Port("table", TABLE)],
            outputs=[Port("model", MODEL)],
        ),
        stub_block(
            "stub.evaluate",
            inputs=[Port("model", MODEL), Port("table", TABLE)],
            outputs=[Port("metrics", METRICS)],
        ),
        stub_block("stub.pass", inputs=[Port("table", TABLE)], outputs=[Port("table", TABLE)]),
    ]
}


class G(GraphBuilder):
    """The shared builder, plus a shortcut to the function under test."""

    def validate(self, catalogue=CATALOGUE, **kwargs):
        return validate_graph(parse_graph(self.build()), catalogue, **kwargs)


def training_graph():
    return (
        G()
        .node("load", "stub.source")
        .node("clf", "stub.classifier")
        .node("train", "stub.train")
        .edge("clf.estimator", "train.estimator")
        .edge("load.table", "train.table")
    )


def chain(*node_ids):
    g = G()
    for node_id in node_ids:
        g.node(node_id, "stub.pass")
    return g


def test_a_valid_graph_has_no_errors():
    result = training_graph().validate()
    assert result.valid
    assert result.as_dict() == {"valid": True, "errors": {}, "graph_errors": []}


def test_the_result_serialises_to_the_http_contract():
    result = G().node("x", "nope").validate()
    assert result.as_dict() == {
        "valid": False,
        "errors": {"x": ["unknown block 'nope'"]},
        "graph_errors": [],
    }


def test_an_empty_graph_is_a_graph_error():
    result = G().validate()
    assert result.graph_errors == ["the graph is empty: add a block to start"]
    assert not result.valid


def test_too_many_nodes_is_a_graph_error_naming_the_limit():
    result = chain("a", "b", "c").validate(max_nodes=2)
    assert result.graph_errors == ["the graph has 3 blocks; the limit is 2"]
    assert result.errors == {}


def test_too_many_edges_is_a_graph_error_naming_the_limit():
    result = training_graph().validate(max_edges=1)
    assert result.graph_errors == ["the graph has 2 connections; the limit is 1"]


def test_an_unknown_block_suggests_close_keys():
    result = G().node("load", "stub.sorce").validate()
    assert result.errors == {"load": ["unknown block 'stub.sorce'; did you mean 'stub.source'?"]}


def test_suggestions_need_no_more_than_get_on_the_catalogue():
    class GetOnly:
        def get(self, key):
            return CATALOGUE.get(key)

    result = G().node("load", "stub.sorce").validate(GetOnly())
    assert result.errors == {"load": ["unknown block 'stub.sorce'"]}


def test_invalid_params_are_node_errors_prefixed_with_the_param_name():
    result = G().node("clf", "stub.classifier", C=-1).validate()
    assert result.errors == {"clf": ["C: must be > 0 (got -1)"]}


def test_unknown_params_are_node_errors():
    result = G().node("clf", "stub.classifier", c=1).validate()
    assert result.errors == {"clf": ["c: unknown parameter 'c'; known: C"]}


def test_param_check_adds_context_errors():
    def check(node: Node):
        return {"seed": "not in this workspace"} if node.id == "load" else {}

    result = training_graph().validate(param_check=check)
    assert result.errors == {"load": ["seed: not in this workspace"]}


def test_param_check_is_skipped_when_the_schema_already_failed():
    seen = []
    G().node("clf", "stub.classifier", C="x").validate(
        param_check=lambda n: seen.append(n.id) or {}
    )
    assert seen == []


def test_a_port_type_mismatch_is_reported_on_the_target():
    result = (
        G()
        .node("load", "stub.source")
        .node("train", "stub.train")
        .edge("load.table", "train.estimator")
        .edge("load.table", "train.table")
        .validate()
    )
    assert result.errors == {
        "train": ["edge from load.table (table) into train.estimator (estimator): types differ"]
    }


def test_an_unknown_source_port_lists_the_blocks_outputs():
    result = G().node("a", "stub.source").node("b", "stub.pass").edge("a.tabel", "b.table")
    assert result.validate().errors == {"a": ["no output port 'tabel'; outputs: table"]}


def test_an_unknown_target_port_lists_the_blocks_inputs():
    result = (
        G()
        .node("load", "stub.source")
        .node("clf", "stub.classifier")
        .node("train", "stub.train")
        .edge("clf.estimator", "train.estimator")
        .edge("load.table", "train.data")
        .validate()
    )
    assert result.errors["train"][0] == "no input port 'data'; inputs: estimator, table"


def test_wiring_from_an_input_port_says_it_is_an_input():
    result = (
        training_graph()
        .node("t2", "stub.train")
        .edge("train.estimator", "t2.estimator")
        .edge("load.table", "t2.table")
        .validate()
    )
    assert result.errors == {
        "train": ["no output port 'estimator'; outputs: model ('estimator' is an input)"]
    }


def test_a_block_key_without_its_module_path_suggests_the_full_key():
    result = G().node("x", "SOURCE").validate({"pkg.blocks.Source": CATALOGUE["stub.source"]})
    assert result.errors == {"x": ["unknown block 'SOURCE'; did you mean 'pkg.blocks.Source'?"]}


def test_an_edge_from_a_missing_node_is_reported_on_its_target():
    result = chain("b").edge("ghost.table", "b.table").validate()
    assert result.errors == {"b": ["input 'table' is connected to a missing block 'ghost'"]}


def test_an_edge_between_missing_nodes_is_a_graph_error():
    result = G().node("a", "stub.source").edge("a.table", "ghost.table").validate()
    assert result.graph_errors == [
        "connection a.table → ghost.table refers to a missing block 'ghost'"
    ]
    assert result.errors == {}


def test_two_edges_into_one_input_are_reported_on_the_target():
    result = (
        G()
        .node("a", "stub.source")
        .node("b", "stub.source")
        .node("p", "stub.pass")
        .edge("a.table", "p.table")
        .edge("b.table", "p.table")
        .validate()
    )
    assert result.errors == {
        "p": ["input 'table' has 2 connections (a.table, b.table); an input takes one"]
    }


def test_a_required_input_left_unconnected_is_reported():
    result = (
        G()
        .node("load", "stub.source")
        .node("train", "stub.train")
        .edge("load.table", "train.table")
        .validate()
    )
    assert result.errors == {"train": ["input 'estimator' is not connected"]}


def test_an_optional_input_may_stay_unconnected():
    assert G().node("clf", "stub.classifier").validate().valid


def test_every_node_on_a_cycle_is_reported_with_the_cycle():
    result = (
        G()
        .node("src", "stub.source")
        .node("a", "stub.scaler")
        .node("b", "stub.scaler")
        .edge("a.estimator", "b.estimator")
        .edge("b.estimator", "a.estimator")
        .validate()
    )
    assert result.errors == {
        "a": ["part of a cycle: a → b → a"],
        "b": ["part of a cycle: b → a → b"],
    }


def test_a_longer_cycle_is_spelled_out_from_each_nodes_view():
    result = (
        G()
        .node("a", "stub.scaler")
        .node("b", "stub.scaler")
        .node("c", "stub.scaler")
        .edge("a.estimator", "b.estimator")
        .edge("b.estimator", "c.estimator")
        .edge("c.estimator", "a.estimator")
        .validate()
    )
    assert result.errors["c"] == ["part of a cycle: c → a → b → c"]
    assert set(result.errors) == {"a", "b", "c"}


def test_nodes_downstream_of_a_cycle_are_not_reported():
    result = (
        G()
        .node("a", "stub.scaler")
        .node("b", "stub.scaler")
        .node("c", "stub.scaler")
        .edge("a.estimator", "b.estimator")
        .edge("b.estimator", "a.estimator")
        .edge("b.estimator", "c.estimator")
        .validate()
    )
    assert set(result.errors) == {"a", "b"}


def test_a_self_loop_is_a_cycle():
    result = G().node("a", "stub.scaler").edge("a.estimator", "a.estimator").validate()
    assert result.errors == {"a": ["part of a cycle: a → a"]}


def test_nodes_below_an_unknown_block_are_not_reported_again():
    result = (
        G()
        .node("load", "stub.sorce")
        .node("clf", "stub.classifier")
        .node("train", "stub.train")
        .node("eval", "stub.evaluate")
        .edge("clf.estimator", "train.estimator")
        .edge("load.table", "train.table")
        .edge("train.model", "eval.model")
        .edge("load.table", "eval.table")
        .validate()
    )
    assert list(result.errors) == ["load"]


def test_nodes_below_a_node_with_bad_params_are_not_reported_again():
    result = (
        G()
        .node("load", "stub.source")
        .node("clf", "stub.classifier", C=0)
        .node("train", "stub.train")
        .node("eval", "stub.evaluate")
        .edge("clf.estimator", "train.estimator")
        .edge("load.table", "train.table")
        .edge("train.model", "eval.model")
        .edge("load.table", "eval.table")
        .validate()
    )
    assert result.errors == {"clf": ["C: must be > 0 (got 0)"]}


def test_an_input_wired_to_a_bad_source_port_is_not_also_unconnected():
    result = G().node("a", "stub.source").node("b", "stub.pass").edge("a.nope", "b.table")
    assert "b" not in result.validate().errors


def test_independent_problems_are_all_reported_in_graph_order():
    result = (
        G()
        .node("x", "stub.nothing")
        .node("clf", "stub.classifier", C=-1)
        .node("train", "stub.train")
        .validate()
    )
    assert list(result.errors) == ["x", "clf", "train"]
    assert result.errors["train"] == [
        "input 'estimator' is not connected",
        "input 'table' is not connected",
    ]


def test_a_big_cycle_is_found_without_recursion_trouble():
    size = 400
    g = G().node("n0", "stub.source")
    for i in range(1, size):
        g.node(f"n{i}", "stub.pass").edge(f"n{i - 1}.table", f"n{i}.table")
    g.edge(f"n{size - 1}.table", "n1.table")  # close a big cycle: n1 now has two inputs
    result = g.validate()
    assert len([e for e in result.errors.values() if any("cycle" in m for m in e)]) == size - 1


def test_a_long_cycle_is_shortened_in_the_message():
    g = G()
    for i in range(12):
        g.node(f"n{i}", "stub.pass").edge(f"n{i}.table", f"n{(i + 1) % 12}.table")
    assert g.validate().errors["n0"] == [
        "part of a cycle: n0 → n1 → n2 → n3 → … → n10 → n11 → n0 (12 blocks)"
    ]


def test_a_node_timeout_must_be_a_sane_number_of_seconds():
    result = G().node("load", "stub.source", options={"timeout_seconds": 99999999999999999999}).validate()
    assert any(e.startswith("timeout_seconds:") for e in result.errors["load"])


def test_an_unknown_cache_option_is_a_node_error():
    result = G().node("load", "stub.source", options={"cache": "sometimes"}).validate()
    assert "cache: must be 'always_rerun' or left out (got 'sometimes')" in result.errors["load"]


def test_a_node_may_name_any_well_formed_queue():
    for name in ("highmem", "gpu-a100", "team_1.large", "steps"):
        assert G().node("load", "stub.source", options={"queue": name}).validate().valid, name


def test_a_malformed_queue_name_is_a_node_error():
    for bad in ("", "high mem", "a,b", "-Q", "x" * 65, 7, None.__class__.__name__ + "!", ["highmem"]):
        result = G().node("load", "stub.source", options={"queue": bad}).validate()
        assert not result.valid, bad
        assert any(e.startswith("queue: must be a queue name") for e in result.errors["load"]), bad
