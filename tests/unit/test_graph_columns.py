"""Columns flow through the graph; validation names a column param that a known table lacks."""

from dataclasses import replace

from pipelines.blocks import catalogue
from pipelines.blocks.base import TABLE, Port
from pipelines.graph import parse_graph, validate_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.graph.columns import propagate_columns
from tests.unit.stub_blocks import stub_block

IRIS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)", "target"]
UPLOAD = "ab" * 32


def validate(builder, known=None):
    return validate_graph(parse_graph(builder.build()), catalogue(), known_columns=known).errors


def columns(builder, known=None):
    return propagate_columns(parse_graph(builder.build()), catalogue(), known=known)


def uploaded_training(target=None):
    """upload → split → train (with a scaler), the target left at its default unless given."""
    params = {} if target is None else {"target": target}
    return (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=UPLOAD)
        .node("split", "data.split")
        .node("scale", "sklearn.preprocessing.StandardScaler")
        .node("train", "model.train", **params)
        .edge("load.table", "split.table")
        .edge("scale.estimator", "train.estimator")
        .edge("split.train", "train.table")
    )


def test_the_default_target_is_refused_when_the_known_columns_lack_it():
    errors = validate(uploaded_training(), known={"load": ["a", "b", "churned"]})
    assert errors == {
        "train": ["target: column 'target' is not in the table (columns: a, b, churned)"]
    }


def test_a_target_the_table_has_passes():
    assert validate(uploaded_training("churned"), known={"load": ["a", "b", "churned"]}) == {}


def test_unknown_columns_stay_silent():
    assert validate(uploaded_training()) == {}


def test_builtin_datasets_have_known_columns_that_split_keeps():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("split", "data.split", stratify_column="species")
        .edge("load.table", "split.table")
    )
    assert columns(graph)["load"] == {"table": IRIS}
    errors = validate(graph)
    assert errors == {
        "split": [
            f"stratify_column: column 'species' is not in the table (columns: {', '.join(IRIS)})"
        ]
    }


def test_table_blocks_compute_the_columns_below_them():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("pick", "table.select_columns", columns=["petal width (cm)", "target"])
        .node(
            "groups",
            "table.group_by",
            by=["target"],
            aggregations=[{"column": "petal width (cm)", "function": "mean", "as": "w"}],
        )
        .node(
            "filter",
            "table.filter_rows",
            conditions=[{"column": "sepal width (cm)", "op": ">", "value": 1}],
        )
        .edge("load.table", "pick.table")
        .edge("pick.table", "groups.table")
        .edge("pick.table", "filter.table")
    )
    assert columns(graph)["groups"] == {"table": ["target", "w"]}
    errors = validate(graph)
    assert errors == {
        "filter": [
            "conditions: column 'sepal width (cm)' is not in the table (columns: petal width (cm), target)"
        ]
    }


def test_a_join_key_missing_on_one_side_is_reported_before_the_run():
    graph = (
        GraphBuilder()
        .node("people", "dataset.upload", dataset=UPLOAD)
        .node("cities", "dataset.upload", dataset="cd" * 32)
        .node("join", "table.join", on=["city"])
        .edge("people.table", "join.left")
        .edge("cities.table", "join.right")
    )
    known = {"people": ["id", "city"], "cities": ["town", "country"]}
    assert validate(graph, known) == {
        "join": ["on: column 'city' is not in the right table (columns: town, country)"]
    }
    assert columns(graph, {"people": ["id", "city"], "cities": ["city", "id"]})["join"] == {
        "table": ["id_left", "city", "id_right"]
    }


def test_sql_outputs_are_unknown_but_a_syntax_error_is_caught_before_the_run():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin")
        .node("sql", "table.sql", query="SELECT target FROM t1 WHER target > 0")
        .node("split", "data.split", stratify_column="anything")
        .edge("load.table", "sql.t1")
        .edge("sql.table", "split.table")
    )
    errors = validate(graph)
    assert list(errors) == ["sql"]
    assert errors["sql"][0].startswith(
        'query: the query has an error: Parser Error: syntax error at or near "target"'
    )
    assert "LINE 1:" in errors["sql"][0]


def test_an_invalid_node_is_not_checked_and_hides_its_columns_from_those_below():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("pick", "table.select_columns", columns=["nope"])
        .node("split", "data.split", stratify_column="also nope")
        .edge("load.table", "pick.table")
        .edge("pick.table", "split.table")
    )
    errors = validate(graph)
    assert list(errors) == ["pick"]


def test_columns_after_a_block_without_a_rule_are_unknown():
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin")
        .node("pass", "stub.pass")
        .node("split", "data.split", stratify_column="nope")
        .edge("load.table", "pass.table")
        .edge("pass.table", "split.table")
    )
    stub = stub_block("stub.pass", inputs=[Port("table", TABLE)], outputs=[Port("table", TABLE)])
    blocks = {b.key: b for b in catalogue()} | {stub.key: stub}
    result = validate_graph(parse_graph(graph.build()), blocks)
    assert result.valid


def test_a_cycle_is_reported_once_and_columns_are_not_guessed():
    graph = (
        GraphBuilder()
        .node("a", "table.drop_duplicates", subset=["x"])
        .node("b", "table.drop_duplicates")
        .edge("a.table", "b.table")
        .edge("b.table", "a.table")
    )
    errors = validate(graph)
    assert all(len(msgs) == 1 and "cycle" in msgs[0] for msgs in errors.values())


def test_a_rule_that_crashes_leaves_the_columns_unknown_instead_of_failing_validation():
    def broken(inputs, params):
        raise KeyError("bug")

    crashing = replace(catalogue().get("table.drop_duplicates"), output_columns=broken)
    blocks = {b.key: b for b in catalogue()} | {crashing.key: crashing}
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin")
        .node("dedupe", "table.drop_duplicates")
        .node("split", "data.split", stratify_column="nope")
        .edge("load.table", "dedupe.table")
        .edge("dedupe.table", "split.table")
    )
    assert validate_graph(parse_graph(graph.build()), blocks).valid


def test_the_written_out_builtin_columns_are_what_the_loaders_return():
    from pipelines.blocks.builtin_columns import BUILTIN_COLUMNS
    from pipelines.blocks.core import BUILTIN_DATASETS
    from pipelines.blocks.data import load_builtin

    assert set(BUILTIN_COLUMNS) == set(BUILTIN_DATASETS)
    for name in BUILTIN_DATASETS:
        assert list(BUILTIN_COLUMNS[name]) == [str(c) for c in load_builtin(name).columns], name
