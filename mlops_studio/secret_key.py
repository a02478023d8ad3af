"""Where SECRET_KEY comes from, and the local key file that keeps `make run` zero-config.

Rule (settings.py applies it, README documents it):

1. ``SECRET_KEY`` in the environment wins.
2. Otherwise ``VAR_DIR/secret_key`` is read if it exists. ``make run`` / ``make install``
   create it once (``python mlops_studio/secret_key.py``: run as a file, because
   importing the mlops_studio package loads the settings), before anything starts.
3. Otherwise, with ``DEBUG=true`` (explicit development), the file is created.
4. Otherwise the app refuses to start: a production process never falls back to a
   key that is public (it would sign sessions, password-reset links and every
   pickled artifact's HMAC).

This module imports nothing from Django, so the Makefile can run it before settings
can load.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

KEY_FILE_NAME = "secret_key"
# The development key older versions fell back to. It is public (it was in the
# repository), so it is refused even when set explicitly.
PUBLIC_DEVELOPMENT_KEYS = frozenset({"dev-insecure-change-me-" + "x" * 32})

MISSING_KEY_MESSAGE = (
    "SECRET_KEY is not set. MLOps Studio refuses to start without a real secret key in "
    "production (DEBUG is false): it signs sessions, password-reset links and the HMAC of "
    "every stored model. Set SECRET_KEY to a long random value, the same on every web and "
    "worker process, e.g. "
    "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'). "
    "For a local install, `make run` (or `python mlops_studio/secret_key.py`) writes one "
    "to {path} once."
)


def default_var_dir() -> Path:
    """``VAR_DIR`` as settings.py computes it (``var/`` next to manage.py unless set)."""
    return Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))


def key_file_read(path: Path) -> str | None:
    """The key stored at ``path``, or None when the file is absent or empty."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    return key or None


def key_file_ensure(path: Path) -> str:
    """Return the key stored at ``path``, creating the file first if it does not exist.

    Safe when several processes call it at once (web and worker starting together):
    the key is written to a temporary file and hard-linked into place, which fails
    if another process got there first; everyone then reads the winner's key. A
    reader never sees a half-written file. The file is readable by its owner only.
    """
    existing = key_file_read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret_key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    key = key_file_read(path)
    if key is None:  # an empty file someone else created: not a key
        raise RuntimeError(f"{path} exists but is empty; delete it or set SECRET_KEY")
    return key


def main() -> None:
    """Create ``VAR_DIR/secret_key`` unless SECRET_KEY is set or the file exists."""
    if os.environ.get("SECRET_KEY"):
        return
    path = default_var_dir() / KEY_FILE_NAME
    if key_file_read(path) is None:
        key_file_ensure(path)
        print(f"wrote a new secret key to {path} (keep it: it signs sessions and artifacts)")


if __name__ == "__main__":
    main()
