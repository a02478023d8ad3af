"""dataset.sql's query check: one read statement, refused before any database is touched."""

import pytest

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.sql_source import check_query


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "  select * from t;  ",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
        "VALUES (1), (2)",
        "TABLE customers",
        "-- a comment; with a semicolon\nSELECT 'a;b' AS \"c;d\"",
        "/* lead; */ SELECT $$;$$, $tag$ ; $tag$",
    ],
)
def test_a_single_read_statement_is_accepted(query):
    assert check_query(query) == query.strip().removesuffix(";").rstrip()


@pytest.mark.parametrize(
    "query, words",
    [
        ("INSERT INTO t VALUES (1)", "not INSERT"),
        ("drop table t", "not DROP"),
        ("UPDATE t SET a = 1", "not UPDATE"),
        ("COPY t TO '/tmp/x'", "not COPY"),
        ("SET default_transaction_read_only = off", "not SET"),
        ("SELECT 1; DROP TABLE t", "more than one statement"),
        ("SELECT 1; SELECT 2;", "more than one statement"),
        ("SELECT ';'; COMMIT", "more than one statement"),
        ("", "write a SELECT"),
    ],
)
def test_writes_and_several_statements_are_refused_naming_the_query(query, words):
    with pytest.raises(BlockError) as caught:
        check_query(query)
    assert caught.value.param == "query"
    assert words in caught.value.message


def test_a_trailing_semicolon_is_dropped_from_the_statement():
    assert check_query("SELECT 1 ;") == "SELECT 1"


def test_the_block_is_in_the_catalogue_with_a_bounded_row_limit_and_no_password_param():
    block = catalogue().get("dataset.sql")
    props = block.params_schema["properties"]
    assert props["max_rows"]["default"] == 100_000 and props["max_rows"]["maximum"] == 1_000_000
    assert block.params_schema["required"] == ["connection"]
    assert not any("password" in name for name in props)
    assert [p.name for p in block.outputs] == ["table"] and block.inputs == ()
