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
