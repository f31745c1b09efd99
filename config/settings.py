"""The product's only settings module: every value comes from the environment (see README)."""

from pathlib import Path

from config.env import (
    embedded_secret_key,
    env_bool,
    env_choice,
    env_database,
    env_date,
    env_fraction,
    env_int,
    env_list,
    env_str,
    env_time_zone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
DATABASES = {"default": env_database("DATABASE_URL", "sqlite:///var/db.sqlite3", base_dir=BASE_DIR)}
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # The embedded default (`make run`, a support command on a laptop): a random key kept
        # beside the database, so `manage.py …` works without setup and sessions survive.
        SECRET_KEY = embedded_secret_key(BASE_DIR / "var" / "secret_key")
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "Переменная окружения SECRET_KEY не задана: на PostgreSQL она обязательна "
            "(для разработки — DEBUG=true)."
        )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite builds the picker's FIO order index without its INCLUDE column (CollegePerson):
    # it holds one college and reads it whole anyway; PostgreSQL gets the covering index.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "directory",
    "epos_chats",
    "calls",
    "vk_sync",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.content_security_policy",
    "django_htmx.middleware.HtmxMiddleware",
    "directory.middleware.current_organization",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "directory.context_processors.current_organization",
                "calls.context_processors.calls_mark",
                "epos_chats.context_processors.epos_unread",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "directory.Person"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desktop"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REDIS_URL = env_url("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, but a Redis outage is a cache miss, not a 500 (issue 10).
            "BACKEND": "config.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "epos"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery: without Redis every task runs in process, so `make run` needs nothing but Python.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = env_time_zone("TIME_ZONE", "Europe/Moscow")

LANGUAGE_CODE = "ru"
# The journal speaks Russian only: a browser asking for English must not get Django's English.
LANGUAGES = [("ru", "Русский")]
TIME_ZONE = CELERY_TIMEZONE
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- Production security (issue 10; checked by tests/security/test_production_settings.py) ---
# With DEBUG off the site is served over HTTPS only: HSTS, secure cookies, a redirect from
# http. `make run` (DEBUG=true) keeps plain http. Sessions end after a working day or with the
# browser, whichever comes first.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60, min_value=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
if not DEBUG:
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, min_value=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # For the browsers' preload list (hstspreload.org); off for a domain not ready for it.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Behind a TLS-terminating proxy (docker-compose's), it says which requests came over https.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sign-in throttling (directory/throttle.py): this many failures per login or per address
# within the window lock further attempts until the window passes.
SIGN_IN_MAX_FAILURES = env_int("SIGN_IN_MAX_FAILURES", 5, min_value=1)
SIGN_IN_WINDOW_SECONDS = env_int("SIGN_IN_WINDOW_SECONDS", 15 * 60, min_value=1)
# --- end of production security -------------------------------------------------------------

# The messenger (VK Messenger / Sferum) and VK ID.
VK_API_BASE_URL = env_url("VK_API_BASE_URL", "http://127.0.0.1:8081")
VK_API_TOKEN = env_str("VK_API_TOKEN", "emulator-token")
VK_API_RATE_LIMIT = env_int("VK_API_RATE_LIMIT", 20, min_value=1)
# Seconds a request may stay unanswered (then it is retried: every operation is idempotent),
# and how many requests one push keeps in flight at once (different chats, vk_sync/adapter.py).
VK_API_TIMEOUT = env_int("VK_API_TIMEOUT", 2, min_value=1)
VK_API_IN_FLIGHT = env_int("VK_API_IN_FLIGHT", 8, min_value=1)
VK_SYNC_MODE = env_choice("VK_SYNC_MODE", "nightly", ("nightly", "immediate"))
# False keeps the journal from talking to the messenger at all (a college not connected yet);
# the rows still record what should go, and the first push sends it.
VK_SYNC_ENABLED = env_bool("VK_SYNC_ENABLED", True)
VK_ID_AUTHORIZE_URL = env_url("VK_ID_AUTHORIZE_URL", VK_API_BASE_URL + "/emulator/authorize")
VK_ID_TOKEN_URL = env_url("VK_ID_TOKEN_URL", VK_API_BASE_URL + "/emulator/token")
VK_ID_CLIENT_ID = env_str("VK_ID_CLIENT_ID", "epos-spo")
VK_MESSENGER_WEB_URL = env_url("VK_MESSENGER_WEB_URL", "https://web.vk.me")

# From this date the «ЭПОС» block of «Чаты» is hidden
# (the seed: «С 1 октября чаты ЭПОС будут скрыты»).
EPOS_CHATS_HIDDEN_FROM = env_date("EPOS_CHATS_HIDDEN_FROM", None)
# B2: an import or a nightly rebuild that would remove more than this share of a college's
# people stops and explains instead.
MASS_REMOVAL_THRESHOLD = env_fraction("MASS_REMOVAL_THRESHOLD", 0.2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # One line per request to the messenger is noise; its failures are logged by the adapter.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}
