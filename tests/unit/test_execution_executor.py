"""StepExecutor: one block run on stored artifacts, and the outcome it reports.

Real blocks built in the test (stub ports, a ``run`` function) and the real
ArtifactStore in a temporary folder: nothing is mocked.
"""

from __future__ import annotations

import logging
import warnings

import pandas as pd
import pytest

from pipelines.blocks.base import Block, BlockError, Port
from pipelines.execution.artifacts import TABLE, ArtifactStore
from pipelines.execution.executor import StepExecutor


class StepTimeLimit(Exception):
    """Stands for the exception a task queue's soft time limit raises inside a step."""


TABLE_OUT = (Port("table", "table"),)


def block(run, *, inputs=(), outputs=TABLE_OUT, label="Stub") -> Block:
    return Block(
        key="stub.block",
        label=label,
        category="Other estimators",
        description="a block built by the test",
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params_schema={"type": "object", "properties": {}, "required": []},
        run=run,
    )


TABLE_VALUE = pd.DataFrame({"a": [1, 2, 3]})


@pytest.fixture
def store(tmp_path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts", "test-signing-key")


@pytest.fixture
def executor(store) -> StepExecutor:
    return StepExecutor(store)


def test_a_step_that_returns_every_output_succeeds_and_stores_them(executor, store):
    outcome = executor.execute(block(lambda ctx, inputs, params: {"table": TABLE_VALUE}), {}, {})

    assert (outcome.ok, outcome.error, set(outcome.outputs)) == (True, "", {"table"})
    assert outcome.outputs["table"].kind == TABLE
    pd.testing.assert_frame_equal(store.load(outcome.outputs["table"].sha256, TABLE), TABLE_VALUE)


def test_a_step_gets_its_inputs_loaded_from_the_store_and_its_params_as_given(executor, store):
    seen = {}

    def run(ctx, inputs, params):
        seen.update(inputs=inputs, params=params)
        return {"table": inputs["table"]}

    ref = store.put_table(TABLE_VALUE).as_ref()
    outcome = executor.execute(
        block(run, inputs=[Port("table", "table")]), {"n": 3}, {"table": ref}
    )

    assert outcome.ok is True
    assert seen["params"] == {"n": 3}
    pd.testing.assert_frame_equal(seen["inputs"]["table"], TABLE_VALUE)
    assert outcome.outputs["table"].sha256 == ref["sha256"]  # same content, same artifact


def test_a_block_error_fails_the_step_permanently_with_its_own_message(executor):
    def run(ctx, inputs, params):
        raise BlockError("column 'sex' holds text; add a OneHotEncoder")

    outcome = executor.execute(block(run), {}, {})

    assert (outcome.ok, outcome.permanent, outcome.error) == (
        False,
        True,
        "column 'sex' holds text; add a OneHotEncoder",
    )
    assert outcome.outputs == {}
    assert "Traceback" in outcome.error_detail and "BlockError" in outcome.error_detail


def test_an_unexpected_exception_fails_permanently_naming_the_block_and_keeping_the_traceback(
    executor,
):
    def run(ctx, inputs, params):
        raise ValueError("Input contains NaN")

    outcome = executor.execute(block(run, label="Logistic regression"), {}, {})

    assert (outcome.ok, outcome.permanent, outcome.error) == (
        False,
        True,
        "Logistic regression failed: Input contains NaN",
    )
    assert "ValueError: Input contains NaN" in outcome.error_detail


def test_an_exception_without_a_message_is_named_by_its_type(executor):
    def run(ctx, inputs, params):
        raise KeyError()

    outcome = executor.execute(block(run), {}, {})

    assert outcome.error == "Stub failed: KeyError"


@pytest.mark.parametrize(
    "error",
    [OSError("disk gone"), FileNotFoundError("/shared/x"), ConnectionError("reset by peer")],
    ids=["OSError", "FileNotFoundError", "ConnectionError"],
)
def test_a_lost_file_or_connection_is_a_transient_failure_worth_retrying(executor, error):
    def run(ctx, inputs, params):
        raise error

    outcome = executor.execute(block(run), {}, {})

    assert (outcome.ok, outcome.permanent) == (False, False)
    assert outcome.error == f"{type(error).__name__}: {error}"


def test_a_missing_input_artifact_fails_the_step_without_running_the_block(executor):
    ran = []
    ref = {"sha256": "0" * 64, "kind": TABLE}

    outcome = executor.execute(
        block(lambda ctx, inputs, params: ran.append(1), inputs=[Port("table", "table")]),
        {},
        {"table": ref},
    )

    assert ran == []
    assert (outcome.ok, outcome.error) == (
        False,
        "Stub failed: artifact 000000000000 is missing from the store",
    )


def test_the_callers_time_limit_becomes_a_readable_message(executor):
    def run(ctx, inputs, params):
        raise StepTimeLimit()

    outcome = executor.execute(
        block(run), {}, {}, timeout_errors=(StepTimeLimit,), timeout_seconds=30
    )

    assert (outcome.ok, outcome.permanent) == (False, True)
    assert outcome.error == (
        "the step ran longer than its time limit of 30 s and was stopped; "
        "raise the node's timeout or use a smaller dataset or model"
    )
    assert "StepTimeLimit" in outcome.error_detail


def test_a_time_limit_exception_is_an_ordinary_failure_when_the_caller_did_not_name_it(executor):
    def run(ctx, inputs, params):
        raise StepTimeLimit("late")

    outcome = executor.execute(block(run), {}, {})

    assert outcome.error == "Stub failed: late"


def test_a_block_that_leaves_out_a_declared_output_fails_naming_the_port(executor):
    two_outputs = (Port("train", "table"), Port("test", "table"))

    outcome = executor.execute(
        block(lambda ctx, inputs, params: {"train": TABLE_VALUE}, outputs=two_outputs), {}, {}
    )

    assert (outcome.ok, outcome.permanent, outcome.outputs) == (False, True, {})
    assert outcome.error == "Stub failed: block stub.block produced no value for output 'test'"


def test_warnings_are_captured_once_each_in_order_and_appended_to_the_logs(executor):
    def run(ctx, inputs, params):
        for _ in range(3):
            warnings.warn("lbfgs failed to converge", UserWarning, stacklevel=1)
        warnings.warn("feature names differ", FutureWarning, stacklevel=1)
        return {"table": TABLE_VALUE}

    outcome = executor.execute(block(run), {}, {})

    assert outcome.warnings == [
        "UserWarning: lbfgs failed to converge",
        "FutureWarning: feature names differ",
    ]
    assert outcome.logs.splitlines()[-2:] == outcome.warnings


def test_warnings_of_a_failed_step_are_kept_too(executor):
    def run(ctx, inputs, params):
        warnings.warn("almost singular", RuntimeWarning, stacklevel=1)
        raise BlockError("nothing to fit")

    outcome = executor.execute(block(run), {}, {})

    assert (outcome.ok, outcome.warnings) == (False, ["RuntimeWarning: almost singular"])


def test_context_log_lines_logging_records_and_printed_text_all_reach_the_step_log(executor):
    def run(ctx, inputs, params):
        ctx.log("from the context")
        logging.getLogger("tests.stub_block").warning("from logging")
        print("from print")
        return {"table": TABLE_VALUE}

    outcome = executor.execute(block(run), {}, {})
    lines = outcome.logs.splitlines()

    assert lines[0] == "from the context"
    assert any(line.endswith("from logging") for line in lines), lines
    assert "from print" in lines


def test_the_step_log_handler_is_removed_after_the_step(executor):
    handlers = list(logging.getLogger().handlers)

    executor.execute(block(lambda ctx, inputs, params: {"table": TABLE_VALUE}), {}, {})
    executor.execute(block(lambda ctx, inputs, params: 1 / 0), {}, {})

    assert logging.getLogger().handlers == handlers


def test_a_step_records_how_long_it_ran(executor):
    outcome = executor.execute(block(lambda ctx, inputs, params: {"table": TABLE_VALUE}), {}, {})

    assert 0 < outcome.seconds < 60


def test_a_stored_table_handed_on_unchanged_is_the_same_artifact_not_encoded_again(executor, store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Written as an upload is (row groups, no pandas metadata): encoding it again would give other bytes.
    pq.write_table(pa.table({"a": range(1000)}), tmp_path / "upload.parquet", row_group_size=100)
    source = store.put_table_file(tmp_path / "upload.parquet")
    before = sorted(p.name for p in store.root.rglob("*") if p.is_file())

    outcome = executor.execute(block(lambda ctx, inputs, params: {"table": ctx.load_table(source.sha256)}), {}, {})

    assert outcome.ok and outcome.outputs["table"] == source
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == before
    assert outcome.summary["outputs"]["table"]["rows"] == 1000


def test_a_stored_table_changed_before_it_is_returned_is_stored_as_a_new_artifact(executor, store):
    source = store.put_table(pd.DataFrame({"a": range(10)}))

    def run(ctx, inputs, params):
        return {"table": ctx.load_table(source.sha256).assign(b=1)}

    outcome = executor.execute(block(run), {}, {})

    assert outcome.ok and outcome.outputs["table"].sha256 != source.sha256
    assert list(store.load(outcome.outputs["table"].sha256, TABLE).columns) == ["a", "b"]
