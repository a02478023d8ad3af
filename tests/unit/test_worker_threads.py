"""Threads per worker pool process: the share of the cores, or the operator's number."""

import pytest

from mlops_studio.worker_threads import cores_available, threads_per_process


@pytest.fixture(autouse=True)
def no_operator_setting(monkeypatch):
    for variable in ("WORKER_THREADS_PER_PROCESS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)


def test_each_pool_process_gets_its_share_of_the_cores_and_at_least_one_thread():
    cores = cores_available()

    assert threads_per_process(1) == (cores, f"{cores} cores / 1 pool processes")
    assert threads_per_process(cores * 4)[0] == 1


def test_worker_threads_per_process_wins_over_omp_num_threads(monkeypatch):
    monkeypatch.setenv("WORKER_THREADS_PER_PROCESS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "5")

    assert threads_per_process(2) == (3, "WORKER_THREADS_PER_PROCESS")


def test_a_nested_omp_num_threads_gives_its_outer_level(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4,1")

    assert threads_per_process(2) == (4, "OMP_NUM_THREADS")


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_thread_count_that_is_not_a_positive_integer_is_refused(monkeypatch, value):
    monkeypatch.setenv("WORKER_THREADS_PER_PROCESS", value)

    with pytest.raises(ValueError, match="not a positive number of threads"):
        threads_per_process(2)
