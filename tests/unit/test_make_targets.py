"""What the Makefile's install targets would do (``make -n``, a dry run: nothing is
installed): `make install`/`make run` take the runtime dependencies only, `make test`
adds the dev extras, and each stamp stands for exactly what was installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def dry_run(target: str, venv: Path) -> list[str]:
    out = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if "pip install" in line and "--upgrade pip" not in line]


def test_make_install_installs_the_runtime_dependencies_without_the_dev_extras(tmp_path):
    installs = dry_run("install", tmp_path / "venv")
    assert installs == [f"{tmp_path}/venv/bin/pip install --quiet -e ."]


def test_make_test_installs_the_dev_extras_too(tmp_path):
    installs = dry_run("test", tmp_path / "venv")
    assert installs[0].endswith("install --quiet -e .")
    assert any(line.endswith('install --quiet -e ".[dev]"') for line in installs)


def test_an_up_to_date_runtime_stamp_skips_the_runtime_install_but_not_the_dev_one(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 10
    os.utime(venv / ".installed", (later, later))

    assert dry_run("install", venv) == []
    assert dry_run("python-dev-deps", venv) == [f'{venv}/bin/pip install --quiet -e ".[dev]"']
