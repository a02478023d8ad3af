"""A process the tests start in its own session still dies when pytest is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Stands in for pytest: starts a long-lived child the way start_worker does, prints its pid, waits.
PARENT = """
import subprocess, sys, time
from tests.processes import die_with_parent
child = subprocess.Popen(["sleep", "120"], start_new_session=True, preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has died and waits for its reaper


def test_a_child_in_its_own_session_is_killed_with_its_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    assert _alive(child_pid)
    assert os.getsid(child_pid) != os.getsid(parent.pid)  # a terminal's Ctrl-C would not reach it

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    deadline = time.monotonic() + 5
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid)
