from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import JavaScriptCatalog

from generations import i18n, security
from generations.views import health

# The admin's log-in page is throttled like ours (generations/security.py).
admin.site.login_form = security.ThrottledAdminAuthenticationForm

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("login/", security.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/language/", i18n.set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("healthz/live", health.live, name="healthz_live"),
    path("healthz/ready", health.healthz, name="healthz_ready"),
    path("metrics", health.metrics, name="metrics"),
    path("", include("generations.urls")),
]

# A refused request (too many files, fields or a malformed body) says why.
handler400 = "generations.security.bad_request"
