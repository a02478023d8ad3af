"""The row-level table.* blocks (pandas): results and the errors for bad input."""

import pandas as pd
import pytest

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.params import validate_params


class FakeContext:
    def __init__(self):
        self.lines = []

    def load_table(self, sha256):
        raise AssertionError("table blocks load nothing")

    def log(self, message):
        self.lines.append(message)


def run(key, inputs, **params):
    block = catalogue().get(key)
    checked, errors = validate_params(block.params_schema, params)
    assert errors == {}
    return block.run(FakeContext(), inputs, checked)["table"]


def people():
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "name": ["ann", "bob", "cat", "dan", None, "eve"],
            "age": [31.0, 45.0, None, 22.0, 38.0, 51.0],
            "city": ["paris", "rome", "paris", "oslo", "rome", "paris"],
            "member": [True, False, True, True, False, False],
        }
    )


# -- select_columns ---------------------------------------------------------------------


def test_select_keeps_the_chosen_columns_in_the_given_order():
    out = run("table.select_columns", {"table": people()}, columns=["city", "id"])
    assert list(out.columns) == ["city", "id"]
    assert out["id"].tolist() == [1, 2, 3, 4, 5, 6]


def test_select_drop_mode_removes_the_chosen_columns():
    out = run("table.select_columns", {"table": people()}, columns=["name", "age"], mode="drop")
    assert list(out.columns) == ["id", "city", "member"]


def test_select_names_the_unknown_column_and_lists_the_real_ones():
    with pytest.raises(BlockError) as caught:
        run("table.select_columns", {"table": people()}, columns=["id", "salary"])
    assert caught.value.message == (
        "column 'salary' is not in the table (columns: id, name, age, city, member)"
    )
    assert caught.value.param == "columns"


def test_select_refuses_an_empty_choice_and_dropping_everything():
    with pytest.raises(BlockError, match="at least one column"):
        run("table.select_columns", {"table": people()}, columns=[])
    with pytest.raises(BlockError, match="leaves none"):
        run("table.select_columns", {"table": people()}, columns=list(people()), mode="drop")


# -- filter_rows ------------------------------------------------------------------------


def ids(frame):
    return frame["id"].tolist()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"column": "age", "op": ">", "value": 35}, [2, 5, 6]),
        ({"column": "age", "op": "<=", "value": 31}, [1, 4]),
        ({"column": "city", "op": "==", "value": "paris"}, [1, 3, 6]),
        ({"column": "city", "op": "!=", "value": "paris"}, [2, 4, 5]),
        ({"column": "city", "op": "in", "value": ["oslo", "rome"]}, [2, 4, 5]),
        ({"column": "id", "op": "not in", "value": [1, 2]}, [3, 4, 5, 6]),
        ({"column": "age", "op": "is null"}, [3]),
        ({"column": "name", "op": "not null"}, [1, 2, 3, 4, 6]),
        ({"column": "name", "op": "contains", "value": "a"}, [1, 3, 4]),
        ({"column": "name", "op": "starts with", "value": "b"}, [2]),
        ({"column": "member", "op": "==", "value": True}, [1, 3, 4]),
    ],
)
def test_filter_keeps_the_rows_meeting_a_condition(condition, expected):
    assert ids(run("table.filter_rows", {"table": people()}, conditions=[condition])) == expected


def test_a_missing_value_meets_no_comparison_not_even_not_equal():
    out = run(
        "table.filter_rows",
        {"table": people()},
        conditions=[{"column": "name", "op": "!=", "value": "ann"}],
    )
    assert ids(out) == [2, 3, 4, 6]


def test_filter_combines_conditions_with_all_or_any():
    conditions = [
        {"column": "city", "op": "==", "value": "paris"},
        {"column": "age", "op": ">", "value": 40},
    ]
    assert ids(run("table.filter_rows", {"table": people()}, conditions=conditions)) == [6]
    both = run("table.filter_rows", {"table": people()}, conditions=conditions, combine="any")
    assert ids(both) == [1, 2, 3, 6]


def test_filter_on_dates_compares_with_a_date_string():
    frame = pd.DataFrame({"id": [1, 2], "when": pd.to_datetime(["2024-01-01", "2025-06-01"])})
    out = run(
        "table.filter_rows",
        {"table": frame},
        conditions=[{"column": "when", "op": ">=", "value": "2025-01-01"}],
    )
    assert ids(out) == [2]


def test_filter_names_an_unknown_column():
    with pytest.raises(BlockError, match="column 'salary' is not in the table"):
        run(
            "table.filter_rows",
            {"table": people()},
            conditions=[{"column": "salary", "op": ">", "value": 1}],
        )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"column": "age", "op": ">", "value": "old"},
            "column 'age' holds numbers; cannot use '>' with 'old'",
        ),
        (
            {"column": "city", "op": "<", "value": 3},
            "column 'city' holds text; cannot use '<' with 3",
        ),
        (
            {"column": "age", "op": "contains", "value": "3"},
            "column 'age' holds numbers; 'contains' needs a text",
        ),
        ({"column": "member", "op": ">", "value": True}, "column 'member' holds true/false values"),
        (
            {"column": "id", "op": "in", "value": [1, "two"]},
            "column 'id' holds numbers; cannot use 'in' with 'two'",
        ),
    ],
)
def test_a_filter_on_a_column_of_the_wrong_type_is_refused_naming_it(condition, message):
    with pytest.raises(BlockError, match=message):
        run("table.filter_rows", {"table": people()}, conditions=[condition])


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([], "add at least one condition"),
        ([{"column": "age", "op": "~", "value": 1}], "op must be one of"),
        ([{"column": "age", "op": "in", "value": 3}], "'in' needs a list"),
        ([{"column": "age", "op": ">"}], "'>' needs a number, a text or true/false"),
        ([{"column": "age", "op": ">", "value": 1, "when": 2}], "unknown field"),
    ],
)
def test_badly_shaped_conditions_are_refused(conditions, message):
    with pytest.raises(BlockError, match=message):
        run("table.filter_rows", {"table": people()}, conditions=conditions)


# -- join -------------------------------------------------------------------------------


def cities():
    return pd.DataFrame({"city": ["paris", "rome", "berlin"], "country": ["FR", "IT", "DE"]})


@pytest.mark.parametrize(("how", "rows"), [("inner", 5), ("left", 6), ("right", 6), ("outer", 7)])
def test_join_matches_rows_on_the_key(how, rows):
    out = run("table.join", {"left": people(), "right": cities()}, how=how, on=["city"])
    assert len(out) == rows
    assert set(out.loc[out["city"] == "paris", "country"]) == {"FR"}


def test_join_suffixes_columns_both_tables_have():
    right = cities().assign(name=["x", "y", "z"])
    out = run("table.join", {"left": people(), "right": right}, on=["city"])
    assert {"name_left", "name_right", "country"} <= set(out.columns)


def test_join_declares_the_columns_it_produces():
    right = cities().assign(name=["x", "y", "z"])
    block = catalogue().get("table.join")
    declared = block.output_columns(
        {"left": list(people()), "right": list(right)}, {"on": ["city"]}
    )
    out = run("table.join", {"left": people(), "right": right}, on=["city"])
    assert declared["table"] == list(out.columns)


def test_a_join_key_missing_on_either_side_is_named():
    with pytest.raises(BlockError, match="column 'city' is not in the right table"):
        run(
            "table.join",
            {"left": people(), "right": cities().rename(columns={"city": "town"})},
            on=["city"],
        )
    with pytest.raises(BlockError, match="column 'town' is not in the left table"):
        run("table.join", {"left": people(), "right": cities()}, on=["town"])
    with pytest.raises(BlockError, match="choose the key column"):
        run("table.join", {"left": people(), "right": cities()}, on=[])


def test_a_many_to_many_join_is_refused_with_the_row_explosion_spelled_out():
    right = pd.DataFrame({"city": ["paris", "paris", "rome"], "x": [1, 2, 3]})
    with pytest.raises(BlockError) as caught:
        run("table.join", {"left": people(), "right": right}, on=["city"])
    assert "many-to-many join" in caught.value.message
    assert "'paris': 3 rows left × 2 rows right" in caught.value.message
    assert caught.value.param == "validate"
    out = run(
        "table.join", {"left": people(), "right": right}, on=["city"], validate="many_to_many"
    )
    assert len(out) == 3 * 2 + 2


def test_join_validate_refuses_keys_that_must_be_unique():
    with pytest.raises(BlockError, match="repeats in the left table"):
        run("table.join", {"left": people(), "right": cities()}, on=["city"], validate="one_to_one")
    assert (
        len(
            run(
                "table.join",
                {"left": people(), "right": cities()},
                on=["city"],
                validate="many_to_one",
            )
        )
        == 5
    )


def test_join_keys_of_different_kinds_are_refused():
    right = pd.DataFrame({"id": ["1", "2"], "x": [1, 2]})
    with pytest.raises(BlockError, match="key column 'id' holds numbers on the left and text"):
        run("table.join", {"left": people(), "right": right}, on=["id"])


# -- concat -----------------------------------------------------------------------------


def test_concat_stacks_rows_and_can_say_where_each_came_from():
    a, b = people().iloc[:2], people().iloc[2:5]
    out = run("table.concat", {"t1": a, "t2": b}, source_column="part")
    assert ids(out) == [1, 2, 3, 4, 5]
    assert out["part"].tolist() == ["t1", "t1", "t2", "t2", "t2"]


def test_concat_of_tables_with_other_columns_needs_union_or_intersection():
    a, b = people()[["id", "age"]], people()[["id", "city"]]
    with pytest.raises(BlockError, match="t2 has other columns than t1 .missing: age; extra: city"):
        run("table.concat", {"t1": a, "t2": b})
    union = run("table.concat", {"t1": a, "t2": b}, columns="union")
    assert list(union.columns) == ["id", "age", "city"] and len(union) == 12
    shared = run("table.concat", {"t1": a, "t2": b, "t3": a}, columns="intersection")
    assert list(shared.columns) == ["id"] and len(shared) == 18


# -- group_by ---------------------------------------------------------------------------


def test_group_by_aggregates_per_group():
    out = run(
        "table.group_by",
        {"table": people()},
        by=["city"],
        aggregations=[
            {"column": "age", "function": "mean", "as": "mean_age"},
            {"column": "id", "function": "count"},
            {"column": "member", "function": "nunique"},
        ],
    )
    assert list(out.columns) == ["city", "mean_age", "id_count", "member_nunique"]
    paris = out.set_index("city").loc["paris"]
    assert paris["mean_age"] == pytest.approx(41.0) and paris["id_count"] == 3


def test_group_by_names_unknown_columns_and_refuses_text_sums():
    with pytest.raises(BlockError, match="column 'town' is not in the table"):
        run(
            "table.group_by",
            {"table": people()},
            by=["town"],
            aggregations=[{"column": "id", "function": "sum"}],
        )
    with pytest.raises(BlockError, match="column 'name' holds text; sum needs numbers"):
        run(
            "table.group_by",
            {"table": people()},
            by=["city"],
            aggregations=[{"column": "name", "function": "sum"}],
        )
    with pytest.raises(BlockError, match="two output columns would be called 'city'"):
        run(
            "table.group_by",
            {"table": people()},
            by=["city"],
            aggregations=[{"column": "id", "function": "count", "as": "city"}],
        )


# -- drop_duplicates --------------------------------------------------------------------


def test_drop_duplicates_compares_the_chosen_columns():
    assert ids(run("table.drop_duplicates", {"table": people()}, subset=["city"])) == [1, 2, 4]
    assert ids(run("table.drop_duplicates", {"table": people()}, subset=["city"], keep="last")) == [
        4,
        5,
        6,
    ]
    assert ids(run("table.drop_duplicates", {"table": people()}, subset=["city"], keep="none")) == [
        4
    ]
    assert len(run("table.drop_duplicates", {"table": pd.concat([people(), people()])})) == 6


def test_drop_duplicates_names_an_unknown_column():
    with pytest.raises(BlockError, match="column 'town' is not in the table"):
        run("table.drop_duplicates", {"table": people()}, subset=["town"])


# -- sample -----------------------------------------------------------------------------


def big(n=1000):
    return pd.DataFrame({"id": range(n), "label": ["a"] * (n * 8 // 10) + ["b"] * (n * 2 // 10)})


def test_sample_is_reproducible_for_a_seed_and_keeps_the_row_order():
    first = run("table.sample", {"table": big()}, n=100, seed=3)
    assert len(first) == 100
    assert first["id"].is_monotonic_increasing
    assert first.equals(run("table.sample", {"table": big()}, n=100, seed=3))
    assert not first.equals(run("table.sample", {"table": big()}, n=100, seed=4))


def test_sample_by_fraction_and_n_larger_than_the_table():
    assert len(run("table.sample", {"table": big()}, n=None, fraction=0.25)) == 250
    assert len(run("table.sample", {"table": big(10)}, n=1000)) == 10


def test_stratified_sample_keeps_the_class_proportions():
    out = run("table.sample", {"table": big()}, n=100, stratify_column="label")
    assert out["label"].value_counts().to_dict() == {"a": 80, "b": 20}


def test_sample_needs_exactly_one_of_n_and_fraction_and_a_real_stratify_column():
    with pytest.raises(BlockError, match="either n or fraction"):
        run("table.sample", {"table": big()}, n=10, fraction=0.5)
    with pytest.raises(BlockError, match="column 'class' is not in the table"):
        run("table.sample", {"table": big()}, stratify_column="class")


def test_every_table_block_is_in_the_catalogue_with_a_seed_where_random():
    keys = {b.key for b in catalogue() if b.key.startswith("table.")}
    assert keys == {
        "table.select_columns",
        "table.filter_rows",
        "table.join",
        "table.concat",
        "table.group_by",
        "table.sql",
        "table.drop_duplicates",
        "table.sample",
    }
    assert catalogue().get("table.sample").defaults()["seed"] == 0


# -- through the executor: results are stored as Parquet, errors land on the step ------------


@pytest.fixture
def executor(tmp_path):
    from pipelines.execution.artifacts import ArtifactStore
    from pipelines.execution.executor import StepExecutor

    store = ArtifactStore(tmp_path / "artifacts", "test-signing-key")
    return store, StepExecutor(store)


@pytest.mark.parametrize(
    ("key", "ports", "params"),
    [
        ("table.filter_rows", ("table",), {"conditions": [{"column": "name", "op": "not null"}]}),
        ("table.join", ("left", "right"), {"on": ["id"], "validate": "one_to_one"}),
        ("table.concat", ("t1", "t2"), {"source_column": "from"}),
        (
            "table.group_by",
            ("table",),
            {"by": ["city"], "aggregations": [{"column": "age", "function": "median"}]},
        ),
        ("table.sample", ("table",), {"n": 3, "stratify_column": "member"}),
        (
            "table.sql",
            ("t1", "t2"),
            {"query": "SELECT t1.*, t2.age AS age2 FROM t1 JOIN t2 USING (id)"},
        ),
    ],
)
def test_every_table_block_output_is_stored_and_loads_back(executor, key, ports, params):
    from pipelines.execution.artifacts import TABLE as TABLE_KIND

    store, run_step = executor
    stored = store.put_table(people())
    block = catalogue().get(key)
    checked, errors = validate_params(block.params_schema, params)
    assert errors == {}
    refs = {port: {"sha256": stored.sha256, "kind": TABLE_KIND} for port in ports}
    outcome = run_step.execute(block, checked, refs)
    assert outcome.ok, outcome.error
    assert len(store.load(outcome.outputs["table"].sha256, TABLE_KIND)) > 0


def test_a_bad_column_fails_the_step_with_a_message_naming_it(executor):
    from pipelines.execution.artifacts import TABLE as TABLE_KIND

    store, run_step = executor
    stored = store.put_table(people())
    block = catalogue().get("table.select_columns")
    outcome = run_step.execute(
        block,
        {"columns": ["salary"], "mode": "keep"},
        {"table": {"sha256": stored.sha256, "kind": TABLE_KIND}},
    )
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert (
        outcome.error
        == "column 'salary' is not in the table (columns: id, name, age, city, member)"
    )
