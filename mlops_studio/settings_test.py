"""Settings for the test suite (pyproject's pytest config): the app's settings plus a key.

Production refuses to start without SECRET_KEY (mlops_studio.secret_key), and a
test run must not depend on a var/secret_key left by `make run`. So a test
session gets a random key, put into the environment *before* the settings load so
that the Celery workers and servers the tests start (they inherit os.environ)
sign and check artifacts with the same key. The cache key prefix is per session
too, so failed sign-in counters left in Redis by an earlier run never throttle
this one.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-session-" + secrets.token_urlsafe(48))
os.environ.setdefault("CACHE_KEY_PREFIX", "mlops-test-" + secrets.token_hex(6))

from .settings import *  # noqa: E402, F403

# Sign-in tests check hundreds of passwords; PBKDF2's deliberate slowness is not
# what they test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
