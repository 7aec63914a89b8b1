from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberLanguage(models.Model):
    """The interface language a member chose; absent means "follow the browser"."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="language_choice",
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("interface language")
        verbose_name_plural = _("interface languages")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
