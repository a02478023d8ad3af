"""Schedule timing without a database: checking, next due time, plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.errors import ApplicationError
from pipelines.models import Schedule
from pipelines.services.schedules import schedule_check, schedule_describe, schedule_next_after

T0 = datetime(2026, 11, 30, 12, 0, 3, tzinfo=UTC)


def test_an_interval_keeps_its_phase_and_skips_the_times_it_missed():
    schedule = Schedule(every_seconds=10, next_run_at=T0)

    assert schedule_next_after(schedule, T0 - timedelta(seconds=1)) == T0
    assert schedule_next_after(schedule, T0) == T0 + timedelta(seconds=10)
    # Beat was down for 95 s: one run now, then the next time on the original phase.
    assert schedule_next_after(schedule, T0 + timedelta(seconds=95)) == T0 + timedelta(seconds=100)


def test_a_cron_schedule_is_due_at_its_next_matching_minute_in_utc():
    schedule = Schedule(cron="30 2 * * 1-5")

    assert schedule_next_after(schedule, T0) == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # Tuesday
    friday_night = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    assert schedule_next_after(schedule, friday_night) == datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # Monday


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(5, "every 5 seconds"), (60, "every minute"), (300, "every 5 minutes"), (3600, "every hour"),
     (7200, "every 2 hours"), (86400, "every day"), (90, "every 90 seconds")],
)
def test_intervals_read_in_plain_words(seconds, words):
    assert schedule_describe(Schedule(every_seconds=seconds)) == words


def test_cron_expressions_read_in_plain_words():
    assert schedule_describe(Schedule(cron="*/15 * * * *")) == "Every 15 minutes (UTC)"
    assert schedule_describe(Schedule(cron="0 2 * * *")) == "At 02:00 (UTC)"


@pytest.mark.parametrize(
    ("cron", "every", "field"),
    [(None, None, "cron"), ("* * * * *", 60, "cron"), ("61 * * * *", None, "cron"),
     ("* * * *", None, "cron"), ("0 0 31 2 *", None, "cron"), ("x" * 101, None, "cron"),
     (None, 4, "every_seconds"), (None, 10**9, "every_seconds")],
)
def test_bad_timings_are_refused_naming_the_field(cron, every, field):
    with pytest.raises(ApplicationError) as refused:
        schedule_check(cron=cron, every_seconds=every)
    assert refused.value.field == field


def test_a_cron_expression_is_normalised():
    assert schedule_check(cron="  0   2 * *  1-5 ", every_seconds=None) == ("0 2 * * 1-5", None)
    assert schedule_check(cron=None, every_seconds=5) == ("", 5)
