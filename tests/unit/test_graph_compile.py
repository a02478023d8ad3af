"""compile_plan and canonical_params: a valid graph becomes ordered steps."""

import math

import pytest

from pipelines.blocks.base import ESTIMATOR, MODEL, TABLE, Port
from pipelines.graph import GraphInvalidError, canonical_params, compile_plan, parse_graph
from pipelines.graph.builder import GraphBuilder
from tests.unit.stub_blocks import stub_block

CATALOGUE = {
    b.key: b
    for b in [
        stub_block("stub.source", outputs=[Port("table", TABLE)]),
        stub_block(
            "stub.split",
            inputs=[Port("table", TABLE)],
            outputs=[Port("train", TABLE), Port("test", TABLE)],
            test_size={"type": "number", "default": 0.25},
            seed={"type": "integer", "default": 0},
        ),
        stub_block("stub.estimator", outputs=[Port("estimator", ESTIMATOR)], version="3"),
        stub_block(
            "stub.train",
            inputs=[Port("estimator", ESTIMATOR), Port("table", TABLE)],
            outputs=[Port("model", MODEL)],
        ),
        stub_block(
            "stub.evaluate",
            inputs=[Port("model", MODEL), Port("table", TABLE)],
            outputs=[Port("metrics", "metrics")],
        ),
    ]
}


class G(GraphBuilder):
    """The shared builder, plus a shortcut to the function under test."""

    def compile(self):
        return compile_plan(parse_graph(self.build()), CATALOGUE)


def wire_training(g):
    """Edges of the training graph, whatever order its nodes were listed in."""
    return (
        g.edge("load.table", "split.table")
        .edge("est.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "eval.model")
        .edge("split.test", "eval.table")
    )


def training_graph():
    return wire_training(
        G()
        .node("load", "stub.source")
        .node("split", "stub.split", seed=7)
        .node("est", "stub.estimator")
        .node("train", "stub.train")
        .node("eval", "stub.evaluate")
    )


def test_steps_come_in_dependency_order():
    assert training_graph().compile().node_ids == ["load", "split", "est", "train", "eval"]


def test_ready_steps_follow_the_graph_node_order():
    g = wire_training(
        G()
        .node("eval", "stub.evaluate")
        .node("est", "stub.estimator")
        .node("train", "stub.train")
        .node("split", "stub.split")
        .node("load", "stub.source")
    )
    assert g.compile().node_ids == ["est", "load", "split", "train", "eval"]


def test_compiling_twice_gives_the_same_plan():
    assert training_graph().compile() == training_graph().compile()


def test_inputs_name_the_source_node_and_port():
    assert training_graph().compile().step("eval").inputs == {
        "model": ("train", "model"),
        "table": ("split", "test"),
    }


def test_inputs_follow_the_blocks_port_order_not_the_edge_order():
    g = G().node("load", "stub.source").node("est", "stub.estimator").node("train", "stub.train")
    g.edge("load.table", "train.table").edge("est.estimator", "train.estimator")
    assert list(g.compile().step("train").inputs) == ["estimator", "table"]


def test_depends_on_lists_each_source_once_in_plan_order():
    g = (
        G()
        .node("load", "stub.source")
        .node("split", "stub.split")
        .node("est", "stub.estimator")
        .node("train", "stub.train")
        .node("eval", "stub.evaluate")
        .edge("load.table", "split.table")
        .edge("est.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "eval.model")
        .edge("split.train", "eval.table")
    )
    assert g.compile().step("eval").depends_on == ("split", "train")


def test_params_have_defaults_filled_in():
    assert training_graph().compile().step("split").params == {"test_size": 0.25, "seed": 7}


def test_integral_floats_for_integer_params_are_compiled_as_ints():
    g = G().node("load", "stub.source").node("split", "stub.split", seed=7.0)
    seed = g.edge("load.table", "split.table").compile().step("split").params["seed"]
    assert seed == 7 and type(seed) is int


def test_steps_carry_the_block_key_and_version():
    step = training_graph().compile().step("est")
    assert (step.block_key, step.block_version) == ("stub.estimator", "3")


def test_steps_keep_the_raw_node_with_its_extra_keys():
    g = wire_training(
        G()
        .node("load", "stub.source", options={"cache": "always_rerun"})
        .node("split", "stub.split", seed=7)
        .node("est", "stub.estimator")
        .node("train", "stub.train")
        .node("eval", "stub.evaluate")
    )
    assert g.compile().step("load").raw_node["cache"] == "always_rerun"


def test_downstream_is_every_descendant():
    assert training_graph().compile().downstream("split") == {"train", "eval"}


def test_downstream_of_a_sink_is_empty():
    assert training_graph().compile().downstream("eval") == set()


def test_upstream_is_every_ancestor():
    assert training_graph().compile().upstream("train") == {"load", "split", "est"}


def test_asking_for_an_unknown_step_is_a_key_error():
    with pytest.raises(KeyError, match="no step 'nope'"):
        training_graph().compile().step("nope")


def test_an_invalid_graph_does_not_compile():
    g = G().node("a", "stub.train")
    with pytest.raises(GraphInvalidError) as info:
        g.compile()
    assert info.value.result.errors == {
        "a": ["input 'estimator' is not connected", "input 'table' is not connected"]
    }


def test_canonical_params_sort_keys_and_drop_whitespace():
    assert canonical_params({"b": 1, "a": [1, {"d": None, "c": "x"}]}) == (
        '{"a":[1,{"c":"x","d":null}],"b":1}'
    )


def test_canonical_params_do_not_depend_on_key_order():
    assert canonical_params({"x": 1, "y": 2}) == canonical_params({"y": 2, "x": 1})


def test_canonical_params_refuse_nan():
    with pytest.raises(ValueError):
        canonical_params({"C": math.nan})
