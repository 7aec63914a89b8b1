"""Where media lives: the local disk (default) or an S3-compatible bucket.

Read once from the environment by settings.py; a bad combination stops the
process at start with a sentence naming the variable. Credentials go only into
the storage's options, never into a log or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
S3_BACKEND = "storages.backends.s3.S3Storage"
ADDRESSING_STYLES = {"auto", "path", "virtual"}
# Pre-signed download links: long enough to start a download, short enough that
# a copied link stops working soon (the permission was checked for one request).
DEFAULT_URL_TTL_SECONDS = 300


def media_storage(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry for ``MEDIA_STORAGE`` (local or s3)."""
    kind = env.get("MEDIA_STORAGE", "local").strip().lower() or "local"
    if kind == "local":
        return {"BACKEND": LOCAL_BACKEND}
    if kind != "s3":
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE must be 'local' or 's3', got {kind!r}"
        )
    missing = [
        name
        for name in ("S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
        if not env.get(name, "").strip()
    ]
    if missing:
        raise ImproperlyConfigured(
            "MEDIA_STORAGE=s3 needs " + ", ".join(missing) + " (see README, Media)"
        )
    style = env.get("S3_ADDRESSING_STYLE", "").strip().lower() or "auto"
    if style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be auto, path or virtual, got {style!r}"
        )
    endpoint = env.get("S3_ENDPOINT_URL", "").strip()
    if endpoint and not endpoint.startswith(("https://", "http://")):
        raise ImproperlyConfigured("S3_ENDPOINT_URL must be an http(s):// address")
    ttl_raw = env.get("S3_URL_TTL_SECONDS", "").strip()
    if ttl_raw and not ttl_raw.isdecimal():
        raise ImproperlyConfigured(
            f"S3_URL_TTL_SECONDS must be a whole number, got {ttl_raw!r}"
        )
    ttl = int(ttl_raw) if ttl_raw else DEFAULT_URL_TTL_SECONDS
    if not 1 <= ttl <= 7 * 24 * 3600:
        raise ImproperlyConfigured("S3_URL_TTL_SECONDS must be 1 to 604800 seconds")
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": env["S3_BUCKET"].strip(),
            "endpoint_url": endpoint or None,
            "region_name": env.get("S3_REGION", "").strip() or None,
            "access_key": env["S3_ACCESS_KEY_ID"].strip(),
            "secret_key": env["S3_SECRET_ACCESS_KEY"].strip(),
            "location": env.get("S3_PREFIX", "").strip().strip("/"),
            "addressing_style": None if style == "auto" else style,
            "signature_version": "s3v4",
            "querystring_expire": ttl,
            "default_acl": None,  # private objects: every read is ours or signed
            "file_overwrite": True,  # names are unique (task id, digest) already
        },
    }
