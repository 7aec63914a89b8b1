"""Settings for Seedance Studio, driven by environment variables.

Every variable is optional for a local run: with none set the studio runs on SQLite,
the django-q2 ORM broker and the built-in provider simulator, keeping all runtime
state under ``var/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from seedance_site.media_settings import media_storage

# Lets admin and other generic classes be subscripted for type checking.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto,https`` (or ``HTTP_X_FORWARDED_PROTO,https``)."""
    if not value:
        return None
    name, _, expected = value.partition(",")
    name = name.strip()
    if not name.startswith("HTTP_"):
        name = "HTTP_" + name.upper().replace("-", "_")
    return name, expected.strip() or "https"


def local_secret_key(path: Path) -> str:
    """A key kept in var/ so sessions survive restarts of a local run.

    ``make run`` starts the web server, the dispatcher and the workers at once:
    each must end up with the same key (the workers check the signature of every
    queued job), so the first to write the file wins and all read it back."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)  # atomic, and fails if another process won
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def database_from_url(url: str) -> dict[str, Any]:
    """Parse DATABASE_URL: ``sqlite:///abs/path`` or ``postgres://u:p@host:port/name``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_database(Path(unquote(parts.path)))
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def sqlite_database(path: Path) -> dict[str, Any]:
    # Several processes (web, workers, dispatcher) share the file: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock up front so two writers
    # queue on the busy timeout instead of failing with "database is locked".
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # Keep connections open between requests and jobs: django-q2's ORM broker
        # closes old connections before every call, and a fresh SQLite connection
        # (open, PRAGMAs, functions) cost the dispatcher a third of its CPU.
        "CONN_MAX_AGE": 60,
        # A file (not :memory:) so live-server tests share it with their threads;
        # one per test process so parallel runs never share it.
        "TEST": {"NAME": VAR_DIR / f"test-db-{os.getpid()}.sqlite3"},
    }


DEBUG = env_bool("DEBUG", True)
if not DEBUG and not os.environ.get("SECRET_KEY"):
    # Every web node must sign with the same key (sessions, signed frame URLs):
    # a key made up in var/ on each machine would not be.
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (see deploy/production.env.example)"
    )
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "ninja",
    "generations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "generations.i18n.MemberLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "generations.middleware.HtmxLoginRedirectMiddleware",
]

# Django's form renderer, with its plain inputs written in Python (the create
# form's 27 radio and check boxes; generations/form_rendering.py).
FORM_RENDERER = "generations.form_rendering.FormRenderer"

ROOT_URLCONF = "seedance_site.urls"
WSGI_APPLICATION = "seedance_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "generations.context_processors.studio",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else sqlite_database(VAR_DIR / "db.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# django-q2: own retries in our code (max_attempts 1), keep `timeout` well below
# `retry` so the ORM broker never redelivers a job that is still running.
Q_CLUSTER: dict[str, Any] = {
    "name": "seedance",
    "workers": env_int("Q_WORKERS", 4),
    "recycle": 500,
    "timeout": 120,
    "retry": 300,
    "max_attempts": 1,
    "ack_failures": True,
    # Keep failed jobs only: saving each success (and pruning to a limit) cost
    # more CPU than most jobs; "Last job done" is a cache stamp (ops/jobs.py).
    "save_limit": -1,
    "queue_limit": 100,
    "catch_up": False,
    "poll": 0.2,
    "cache": "default",
    # The admin groups django-q2's own models (jobs, failures, schedules, queue)
    # under this heading, apart from ours.
    "label": "Workers (django-q2)",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# The member comes with their language in one query (generations/auth_backend.py);
# ModelBackend only keeps sessions signed in before that change signed in.
AUTHENTICATION_BACKENDS = [
    "generations.auth_backend.MemberBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# English and Russian (generations/i18n.py): the browser's Accept-Language by
# default, a member's stored choice or a visitor's cookie when made; no URL prefix.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()
# MEDIA_STORAGE=s3 keeps videos, posters and frames in a bucket (README, Media);
# MEDIA_ROOT is then only each node's scratch space for downloads and stitching.
STORAGES = {
    "default": media_storage(os.environ),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The cap comes first: past 10 MB a file's bytes are dropped, not spooled to disk.
FILE_UPLOAD_HANDLERS = [
    "generations.security.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
# A request carries at most a start and an end frame (and room for one more
# form): Django refuses more with a 400 before reading any of them.
DATA_UPLOAD_MAX_NUMBER_FILES = 4

# --- Provider -------------------------------------------------------------------
# With no APIXO_API_KEY the built-in simulator stands in for Apixo.
APIXO_API_KEY = os.environ.get("APIXO_API_KEY", "")
SIMULATOR_ENABLED = not APIXO_API_KEY
SIMULATOR_HOST = os.environ.get("SIMULATOR_HOST", "127.0.0.1")
SIMULATOR_PORT = env_int("SIMULATOR_PORT", 8765)
SIMULATOR_SPEED = float(os.environ.get("SIMULATOR_SPEED", "20"))
SIMULATOR_API_KEY = os.environ.get("SIMULATOR_API_KEY", "sim-local-key")
APIXO_BASE_URL = os.environ.get(
    "APIXO_BASE_URL",
    "https://api.apixo.ai"
    if APIXO_API_KEY
    else f"http://{SIMULATOR_HOST}:{SIMULATOR_PORT}",
).rstrip("/")
APIXO_EFFECTIVE_KEY = APIXO_API_KEY or SIMULATOR_API_KEY
APIXO_TIMEOUT_SECONDS = float(os.environ.get("APIXO_TIMEOUT_SECONDS", "20"))
# Hosts results may be downloaded from (a leading "." matches sub-domains).
APIXO_RESULT_HOSTS = env_list(
    "APIXO_RESULT_HOSTS", ".apixo.ai" if APIXO_API_KEY else SIMULATOR_HOST
)
# Only the simulator is served over plain http on loopback: this lets results come
# over http from the APIXO_BASE_URL host alone, skipping the private-address check
# for it. A system check refuses it with DEBUG off (generations/checks.py).
APIXO_RESULT_ALLOW_LOCAL = env_bool(
    "APIXO_RESULT_ALLOW_LOCAL", SIMULATOR_ENABLED and DEBUG
)
MAX_RESULT_BYTES = env_int("MAX_RESULT_BYTES", 500 * 1024 * 1024)

# How the provider reaches us: webhooks and the signed URLs of uploaded images.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SIGNED_IMAGE_URL_TTL_SECONDS = env_int("SIGNED_IMAGE_URL_TTL_SECONDS", 6 * 3600)

# --- Pipeline -------------------------------------------------------------------
DISPATCH_INTERVAL_SECONDS = float(os.environ.get("DISPATCH_INTERVAL_SECONDS", "1"))
LEASE_SECONDS = env_int("LEASE_SECONDS", 150)
# Our share of the provider's limits (10,000 requests/min, 1,000 tasks), with headroom.
PROVIDER_RATE_LIMIT_PER_MINUTE = env_int("PROVIDER_RATE_LIMIT_PER_MINUTE", 8000)
PROVIDER_CONCURRENT_LIMIT = env_int("PROVIDER_CONCURRENT_LIMIT", 990)
DEMO_CREDITS = env_int("DEMO_CREDITS", 1000)


# --- Security ----------------------------------------------------------------------
# Production is DEBUG=0 plus the variables in deploy/production.env.example; every
# default below is the safe one when DEBUG is off.
# Only when a proxy we run sets it (and strips any copy the client sent).
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(
    os.environ.get("SECURE_PROXY_SSL_HEADER", "")
)
# How many proxies of ours append to X-Forwarded-For (login throttling by address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain http on internal addresses.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
# Sessions are read from the cache (Redis when configured) and written to the cache
# and the database: a page no longer starts with a database query, and a cache
# that is down or flushed falls back to the database (nobody is signed out).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Same policy in development, so a violation shows up before production.
SECURE_CSP: dict[str, Any] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    # blob: for the previews of frames chosen in the create form (object URLs).
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Failed log-ins per window (15 min) before that pair or address must wait.
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30)

# --- Dispatcher leadership --------------------------------------------------------
# A standby takes over at most this long after the active dispatcher dies.
DISPATCHER_LEASE_SECONDS = float(os.environ.get("DISPATCHER_LEASE_SECONDS", "5"))
DISPATCHER_LOCK_KEY = os.environ.get("DISPATCHER_LOCK_KEY", "")
# /healthz calls the dispatcher stale after this many seconds without a pass.
DISPATCHER_STALE_SECONDS = float(os.environ.get("DISPATCHER_STALE_SECONDS", "0"))

# --- Operations (generations/ops/) -------------------------------------------------
# /metrics answers staff, or this bearer token (unset: staff only).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# The provider circuit breaker opens after this many failures in a row and probes
# the provider every BREAKER_PROBE_SECONDS while open.
BREAKER_FAILURE_THRESHOLD = env_int("BREAKER_FAILURE_THRESHOLD", 5)
BREAKER_PROBE_SECONDS = float(os.environ.get("BREAKER_PROBE_SECONDS", "30"))

# --- JSON API (generations/api/) ----------------------------------------------------
# Requests per minute per personal access token (or per member's session).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120)
# Webhook endpoints on 127.0.0.1/localhost over http (development and tests only).
WEBHOOKS_ALLOW_LOCAL = env_bool("WEBHOOKS_ALLOW_LOCAL", False)

# --- Logging -----------------------------------------------------------------------
# Every handler redacts secrets (generations/logging.py); Django's own loggers are
# routed to it too, so no record (request lines included) bypasses the filter.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "generations.logging.RedactingFilter"},
        "task": {"()": "generations.logging.TaskContextFilter"},
    },
    "formatters": {
        "plain": {"()": "generations.logging.PlainFormatter"},
        "json": {"()": "generations.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["task", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {
            "handlers": ["console"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # gunicorn's request lines name share and webhook tokens: once Django
        # configures logging in a worker, they go through the redacting handler.
        "gunicorn.access": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
        "gunicorn.error": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
        # django-q2 logs as "django-q" and adds its own unfiltered handler to a
        # logger that has none.
        "django-q": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django_q": {"level": "WARNING"},
        # SQL (logged with DEBUG on) carries session keys and other secrets.
        "django.db.backends": {"level": os.environ.get("LOG_SQL_LEVEL", "INFO")},
        "urllib3": {"level": "WARNING"},
    },
}
