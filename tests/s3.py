"""A real S3 protocol server for the tests (moto's standalone server on
loopback) and the ``media_storage`` fixture that runs a test on local disk and
on the bucket.

The server is one per test session; every test gets a prefix of its own in the
bucket, so tests never see each other's objects.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from seedance_site.media_settings import media_storage as storage_entry

BUCKET = "seedance-test"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-never-shown"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def env(self, prefix: str = "") -> dict[str, str]:
        """The environment that points a process (or settings) at this bucket."""
        return {
            "MEDIA_STORAGE": "s3",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_ADDRESSING_STYLE": "path",
            "S3_PREFIX": prefix,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def keys(self, prefix: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [str(item["Key"]) for item in listing.get("Contents", [])]


def _moto_server() -> str:
    found = Path(sys.executable).with_name("moto_server")
    return str(found) if found.exists() else (shutil.which("moto_server") or "")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from tests.processes import free_port, wait_until

    command = _moto_server()
    if not command:
        pytest.fail("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen(
        [command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}")

    def up() -> bool:
        try:
            return requests.get(server.endpoint, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_until(up, 30, "the S3 server (moto_server)")
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        proc.terminate()
        proc.wait(10)


def s3_storages(
    server: S3Server, prefix: str, current: dict[str, Any]
) -> dict[str, Any]:
    """``STORAGES`` with media in the test bucket under ``prefix``."""
    return {**current, "default": storage_entry(server.env(prefix))}


@pytest.fixture(params=["local", "s3"])
def media_storage(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Runs the test with media on local disk, then in the S3 bucket."""
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        prefix = f"t-{uuid.uuid4().hex[:12]}"
        # Changing STORAGES resets default_storage (Django's setting_changed).
        settings.STORAGES = s3_storages(server, prefix, settings.STORAGES)
        from generations import media_store

        assert media_store.describe() == f"bucket {BUCKET}/{prefix}"
    yield str(request.param)


def fetch_download(response: Any) -> tuple[dict[str, str], bytes]:
    """The headers and bytes a browser saves for a download answer: Django's
    own (local disk) or, after a redirect, the pre-signed bucket URL's."""
    if response.status_code == 302:
        assert response["Cache-Control"] == "private, no-store"
        fetched = requests.get(response["Location"], timeout=10)
        assert fetched.status_code == 200, fetched.status_code
        return dict(fetched.headers), fetched.content
    assert response.status_code == 200, response.status_code
    data = b"".join(response.streaming_content)
    return {key: response[key] for key in response.headers}, data
