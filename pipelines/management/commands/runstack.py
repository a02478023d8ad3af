"""Start web server, Celery worker and beat together; stop them all on Ctrl+C."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server, a Celery worker (with the beat scheduler) and wait."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")

    def handle(self, *args, **options):
        bin_dir = os.path.dirname(sys.executable)
        schedule = settings.VAR_DIR / "celerybeat-schedule"
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        commands = {
            "worker": [
                os.path.join(bin_dir, "celery"), "-A", "mlops_studio", "worker", "--beat",
                f"--schedule={schedule}", f"--concurrency={options['workers']}", "--loglevel=INFO",
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
        processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
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
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            for name, p in processes.items():
                if p.poll() is not None:
                    self.stderr.write(f"{name} exited with code {p.returncode}; stopping the rest")
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes.values():
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
