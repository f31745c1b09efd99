"""The product's settings under test: the same env-driven module, with the suite's defaults."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
# Playwright's sync API runs an event loop in the test thread; the ORM calls beside it are sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from config.settings import *  # noqa: F403

# PBKDF2 at a million rounds would dominate the suite; hashing is Django's, not ours.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests that push say so (tests/vk_sync, with the emulator fixture); the rest never wait on it.
VK_SYNC_ENABLED = False

# Sign-in throttling counts failures per address, and every test client is 127.0.0.1:
# the suite's wrong-password tests must not lock each other out.
# tests/security/test_throttling.py sets the production limit back.
SIGN_IN_MAX_FAILURES = 10_000

# The test client and live_server speak plain http: the production block's https redirect and
# secure-only cookies would lock them out. tests/security/test_production_settings.py checks
# the production values in a subprocess with DEBUG=false.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

# With Redis (CI), every test process gets keys of its own: ids restart in each test database,
# so counters and cached ids of another run or another xdist worker must never be seen as
# this one's (tests/conftest.py empties this process's keys after each test).
_redis_cache = globals().get("CACHES", {}).get("default", {})
if _redis_cache.get("BACKEND", "").endswith("RedisCache"):
    import uuid

    _redis_cache["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
