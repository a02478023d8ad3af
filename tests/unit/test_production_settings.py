"""Production start-up rules (issue 14, items 6 and 7), checked in fresh processes.

Each test starts ``manage.py`` with a controlled environment: no services (SQLite
and the filesystem broker in a throwaway VAR_DIR), nothing inherited that could
make it pass by accident (SECRET_KEY, DEBUG, the test settings module).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from mlops_studio.secret_key import MISSING_KEY_MESSAGE, key_file_ensure

ROOT = Path(__file__).resolve().parents[2]

TLS_ENV = {
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto=https",
}


NOT_INHERITED = {
    "SECRET_KEY", "ARTIFACT_SIGNING_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE",
    # Set by the browser tests' conftest for Playwright; a deployment never has it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def manage(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in NOT_INHERITED and not key.startswith(("SECURE_", "SESSION_", "CSRF_", "EMAIL_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**base, "VAR_DIR": str(var_dir), **env},
        capture_output=True, text=True, timeout=120,
    )


SHOW_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def test_production_refuses_to_start_without_a_secret_key_and_says_what_to_do(tmp_path):
    result = manage(tmp_path, "check")
    assert result.returncode != 0
    assert MISSING_KEY_MESSAGE.format(path=tmp_path / "secret_key") in result.stderr
    assert not (tmp_path / "secret_key").exists()  # production never invents a key


@pytest.mark.parametrize("variable", ["SECRET_KEY", "ARTIFACT_SIGNING_KEY"])
def test_the_public_development_key_of_older_versions_is_refused(tmp_path, variable):
    env = {"SECRET_KEY": strong_key(), variable: "dev-insecure-change-me-" + "x" * 32}
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert f"{variable} is the public development key" in result.stderr


def test_the_key_file_written_by_make_run_lets_the_app_start(tmp_path):
    subprocess.run(
        [sys.executable, "mlops_studio/secret_key.py"], cwd=ROOT, check=True,
        env={**os.environ, "VAR_DIR": str(tmp_path)} | {"SECRET_KEY": ""},
    )
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # owner only
    result = manage(tmp_path, "shell", "--no-imports", "-c", SHOW_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_debug_mode_creates_the_key_file_once_and_keeps_it(tmp_path):
    first = manage(tmp_path, "shell", "--no-imports", "-c", SHOW_KEY, DEBUG="true")
    second = manage(tmp_path, "shell", "--no-imports", "-c", SHOW_KEY, DEBUG="true")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip() == (tmp_path / "secret_key").read_text().strip()


def test_processes_creating_the_key_file_at_once_all_get_the_same_key(tmp_path):
    path = tmp_path / "secret_key"
    with ProcessPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(key_file_ensure, [path] * 32))
    assert keys == {path.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


@pytest.fixture(scope="module")
def check_tags(tmp_path_factory) -> list[str]:
    """Every tag of the deploy checks.

    Passing them all to ``check --deploy`` leaves out drf-spectacular's untagged
    schema check only: the schema has its own validation step, and these tests
    are about deployment settings.
    """
    result = manage(tmp_path_factory.mktemp("var"), "check", "--deploy", "--list-tags", SECRET_KEY=strong_key())
    tags = result.stdout.split()
    assert "security" in tags, result.stderr
    return tags


def deploy_check(var_dir: Path, tags: list[str], **env: str) -> subprocess.CompletedProcess:
    """``manage.py check --deploy --fail-level WARNING`` over every tagged check."""
    tag_args = [arg for tag in tags for arg in ("--tag", tag)]
    return manage(var_dir, "check", "--deploy", "--fail-level", "WARNING", *tag_args, **env)


def test_check_deploy_is_clean_behind_tls_with_the_documented_variables(tmp_path, check_tags):
    result = deploy_check(
        tmp_path, check_tags, SECRET_KEY=strong_key(), ALLOWED_HOSTS="mlops.example.com", **TLS_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_the_tls_settings_when_they_are_missing(tmp_path, check_tags):
    result = deploy_check(tmp_path, check_tags, SECRET_KEY=strong_key(), ALLOWED_HOSTS="mlops.example.com")
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in result.stderr
