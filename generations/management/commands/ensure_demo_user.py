from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from generations import credits


class Command(BaseCommand):
    help = "Create the demo member (once) and print its login."

    def handle(self, *args: Any, **options: Any) -> None:
        login_file = Path(settings.VAR_DIR) / "demo-login.txt"
        users = get_user_model().objects
        user = users.filter(username="demo").first()
        if user is None:
            password = secrets.token_urlsafe(9)
            user = users.create_user(
                "demo", password=password, is_staff=True, is_superuser=True
            )
            credits.grant(
                user=user, amount=settings.DEMO_CREDITS, reason="Demo credits"
            )
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(password)
            login_file.chmod(0o600)
        password = (
            login_file.read_text().strip() if login_file.exists() else "(unchanged)"
        )
        self.stdout.write(
            gettext("Demo login: username '%(username)s', password '%(password)s'")
            % {"username": "demo", "password": password}
        )
