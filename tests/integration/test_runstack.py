"""`make run`'s runstack: one Ctrl+C (or a SIGTERM) stops web, worker and all their
children within 10 seconds. Runs the real command on SQLite and the file broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import die_with_parent

ROOT = Path(__file__).resolve().parent.parent.parent


def _children() -> dict[int, list[int]]:
    """{parent pid: [child pids]} from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …"; comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":  # a zombie is gone, only not yet reaped
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _cmdlines(pids: set[int]) -> list[str]:
    lines = []
    for pid in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "how", ["ctrl-c to the terminal's process group", "sigterm to the command"]
)
def test_one_interrupt_stops_web_worker_and_their_children_within_10_seconds(tmp_path, how):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="mlops_studio.settings",
               SECRET_KEY="runstack-test-" + "x" * 40)
    log = open(tmp_path / "runstack.log", "wb")
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=die_with_parent,
    )
    everything: set[int] = {stack.pid}
    try:
        # Up: the web port answers and Celery's pool processes exist.
        deadline = time.monotonic() + 90
        while True:
            assert stack.poll() is None, (tmp_path / "runstack.log").read_text()
            lines = _cmdlines(_descendants(stack.pid))
            celery = sum("celery" in line for line in lines)
            with socket.socket() as s:
                web_up = s.connect_ex(("127.0.0.1", port)) == 0
            if web_up and celery >= 3 and sum("gunicorn" in line for line in lines) >= 3:
                break
            assert time.monotonic() < deadline, (tmp_path / "runstack.log").read_text()
            time.sleep(0.5)
        everything = _descendants(stack.pid) | {stack.pid}

        started = time.monotonic()
        if how.startswith("ctrl-c"):
            os.killpg(stack.pid, signal.SIGINT)  # what the terminal does on Ctrl+C
        else:
            stack.send_signal(signal.SIGTERM)
        stack.wait(timeout=12)
        while _alive(everything) and time.monotonic() - started < 10:
            time.sleep(0.1)

        assert not _alive(everything), _cmdlines(_alive(everything))
        assert time.monotonic() - started < 10
    finally:
        for pid in _alive(everything | _descendants(stack.pid)):
            os.kill(pid, signal.SIGKILL)
        log.close()
