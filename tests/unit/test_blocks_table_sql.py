"""table.sql: DuckDB over t1…t3, sandboxed, with a time limit."""

import duckdb
import pandas as pd
import pytest

from pipelines.blocks import BlockError, catalogue, table_sql
from pipelines.blocks.params import validate_params
from pipelines.blocks.table_sql import check_query


class FakeContext:
    def __init__(self):
        self.lines = []

    def load_table(self, sha256):
        raise AssertionError("table.sql loads nothing")

    def log(self, message):
        self.lines.append(message)


def run(inputs, **params):
    block = catalogue().get("table.sql")
    checked, errors = validate_params(block.params_schema, params)
    assert errors == {}
    return block.run(FakeContext(), inputs, checked)["table"]


def orders():
    return pd.DataFrame({"customer": [1, 1, 2, 3], "amount": [10.0, 5.0, 7.5, 1.0]})


def customers():
    return pd.DataFrame({"customer": [1, 2, 3], "name": ["ann", "bob", "cat"]})


def test_a_query_reads_the_inputs_by_their_port_names():
    out = run(
        {"t1": orders(), "t2": customers()},
        query="SELECT c.name, sum(o.amount) AS total FROM t1 o JOIN t2 c USING (customer) "
        "GROUP BY c.name ORDER BY c.name",
    )
    assert out.to_dict("list") == {"name": ["ann", "bob", "cat"], "total": [15.0, 7.5, 1.0]}


def test_the_default_query_returns_the_first_input():
    assert run({"t1": orders()}).equals(orders())


def test_a_syntax_error_is_reported_with_its_position():
    with pytest.raises(BlockError) as caught:
        run({"t1": orders()}, query="SELECT amount FROM t1 WHER amount > 1")
    message = caught.value.message
    assert 'syntax error at or near "amount"' in message
    assert "LINE 1: SELECT amount FROM t1 WHER amount > 1" in message
    assert "^" in message.splitlines()[-1]
    assert caught.value.param == "query"


def test_an_unknown_column_is_named_with_its_position():
    with pytest.raises(BlockError, match='column "price" not found') as caught:
        run({"t1": orders()}, query="SELECT price FROM t1")
    assert "LINE 1: SELECT price FROM t1" in caught.value.message


def test_a_large_result_is_fetched_whole_in_chunks():
    out = run({"t1": orders()}, query="SELECT range AS x FROM range(300000)")
    assert len(out) == 300000 and out["x"].iloc[-1] == 299999


def test_an_empty_result_keeps_its_columns():
    out = run({"t1": orders()}, query="SELECT * FROM t1 WHERE amount > 100")
    assert list(out.columns) == ["customer", "amount"] and len(out) == 0


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_text('/etc/hostname')",
    ],
)
def test_a_query_that_reads_a_file_is_refused(query):
    with pytest.raises(BlockError) as caught:
        run({"t1": orders()}, query=query)
    message = caught.value.message
    assert "disabled by configuration" in message or "does not exist" in message
    assert "root:" not in message


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("ATTACH '/tmp/other.db' AS other", "ATTACH"),
        ("COPY t1 TO '/tmp/out.csv'", "COPY"),
        ("INSTALL httpfs", "LOAD"),
        ("LOAD httpfs", "LOAD"),
        ("PRAGMA version", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ],
)
def test_statements_other_than_select_are_refused_before_running(query, kind):
    with pytest.raises(BlockError, match=f"only a SELECT query is allowed here, not {kind}"):
        check_query(query)


def test_a_second_statement_is_refused():
    with pytest.raises(BlockError, match="exactly one SELECT statement .found 2"):
        run({"t1": orders()}, query="SELECT 1; SELECT 2")


def test_a_query_cannot_reach_python_variables_or_turn_access_back_on():
    secret = pd.DataFrame({"s": [42]})  # noqa: F841 - what a replacement scan would find
    with pytest.raises(BlockError, match="secret does not exist"):
        run({"t1": orders()}, query="SELECT * FROM secret")
    with pytest.raises(BlockError, match="exactly one SELECT statement"):
        run({"t1": orders()}, query="SELECT * FROM t1; SET enable_external_access = true")


def test_the_sandbox_configuration_is_locked_even_past_the_statement_check():
    connection = duckdb.connect(":memory:", config=table_sql._config())
    with pytest.raises(duckdb.Error, match="locked"):
        connection.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        connection.execute("ATTACH '/tmp/table-sql-test.db'")


def test_an_unwired_input_is_not_a_table():
    with pytest.raises(BlockError, match="t2 does not exist") as caught:
        run({"t1": orders()}, query="SELECT * FROM t2")
    assert caught.value.message.endswith("(input t2 is not connected)")


def test_a_slow_query_is_stopped_at_its_time_limit():
    with pytest.raises(BlockError, match="longer than its time limit of 1 s") as caught:
        run(
            {"t1": orders()},
            query="SELECT count(*) FROM range(100000000000) a",
            query_timeout_seconds=1,
        )
    assert caught.value.param == "query_timeout_seconds"


def test_a_result_over_max_rows_is_refused():
    with pytest.raises(BlockError, match="more than 10 rows; add a LIMIT"):
        run({"t1": orders()}, query="SELECT * FROM range(11)", max_rows=10)
    with pytest.raises(BlockError, match="more than 200,000 rows"):
        run({"t1": orders()}, query="SELECT * FROM range(300000)", max_rows=200_000)
    assert len(run({"t1": orders()}, query="SELECT * FROM range(10)", max_rows=10)) == 10
