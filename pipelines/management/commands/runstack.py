"""Start web server, Celery worker and beat together; stop them all on Ctrl+C or SIGTERM.

Web and worker each run in a process group of their own, so that stopping reaches
their children too (gunicorn's workers, Celery's pool processes and beat) and a
terminal's Ctrl+C reaches only this command, which decides the order: SIGTERM to
both groups (gunicorn and Celery shut down gracefully), then SIGKILL to whatever is
left after STOP_GRACE_SECONDS. Killing a Celery worker mid-task is safe: tasks are
``acks_late`` with ``reject_on_worker_lost``, so a step in flight runs again later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from pipelines.services.artifacts import artifact_store_check

# One Ctrl+C stops everything within 10 s: graceful first, then killed.
STOP_GRACE_SECONDS = 6.0


class _Stop(Exception):
    """Raised from the signal handler to leave the wait loop."""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: still there
        return True
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_process_groups(processes: dict[str, subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every child's process group, wait up to ``grace`` seconds for the groups
    to empty (reaping the leaders), then SIGKILL what is left."""
    for p in processes.values():
        _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for p in processes.values():
            p.poll()  # reap a leader that has exited, so its group can empty
        if not any(_group_alive(p.pid) for p in processes.values()):
            return
        time.sleep(0.1)
    for p in processes.values():
        _signal_group(p.pid, signal.SIGKILL)
    for p in processes.values():
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


class Command(BaseCommand):
    help = "Run the web server, a Celery worker (with the beat scheduler) and wait."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--workers", type=int, default=2, help="most Celery worker processes: the pool grows from 1 to this "
                            "with the work waiting (celery --autoscale)")

    def handle(self, *args, **options):
        bin_dir = os.path.dirname(sys.executable)
        schedule = settings.VAR_DIR / "celerybeat-schedule"
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            artifact_store_check()  # before spawning: an unreachable store is told once, here
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        commands = {
            "worker": [
                os.path.join(bin_dir, "celery"), "-A", "mlops_studio", "worker", "--beat",
                f"--schedule={schedule}", f"--autoscale={options['workers']},1", "--loglevel=INFO",
            ],
            "web": [
                os.path.join(bin_dir, "gunicorn"), "mlops_studio.wsgi",
                "--bind", f"{options['host']}:{options['port']}",
                "--workers", "2", "--threads", "4", "--access-logfile", "-",
            ],
        }
        # The secret key is settled before anything is spawned: loading the settings
        # for this command already read SECRET_KEY or var/secret_key (`make run`
        # writes it first), so web and worker read the same key and never race to
        # create one.
        env = dict(os.environ)
        if not (env.get("EMAIL_BACKEND") or env.get("EMAIL_HOST")):
            # A local stack has no mail server: print emails (password reset) here.
            env["EMAIL_BACKEND"] = "console"

        def on_signal(signum, frame):
            raise _Stop(signal.Signals(signum).name)

        # Installed before spawning: a signal arriving in between must not orphan a child.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        processes: dict[str, subprocess.Popen] = {}
        try:
            for name, cmd in commands.items():
                processes[name] = subprocess.Popen(cmd, env=env, process_group=0)
            self._announce(options, env)
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            for name, p in processes.items():
                if p.poll() is not None:
                    self.stderr.write(f"{name} exited with code {p.returncode}; stopping the rest")
        except _Stop as stop:
            self.stdout.write(f"\n{stop}: stopping web and worker …")
        finally:
            # A second Ctrl+C while stopping must not interrupt the stopping.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stop_process_groups(processes)
            self.stdout.write("stopped.")

    def _announce(self, options, env) -> None:
        broker = "Redis" if settings.REDIS_URL else "the filesystem broker under var/"
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nMLOps Studio is up at http://{options['host']}:{options['port']}/ "
                f"(database: {database}, broker: {broker})\n"
                "demo login: username 'demo', password 'demo-pass-123'\n"
                + (
                    "emails (password reset links) are printed in this terminal\n"
                    if env.get("EMAIL_BACKEND") == "console"
                    else ""
                )
                + "Ctrl+C stops everything.\n"
            )
        )
