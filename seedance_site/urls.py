from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

from generations import i18n, security
from generations.api.routes import api
from generations.views import health

# The admin's log-in page is throttled like ours (generations/security.py).
admin.site.login_form = security.ThrottledAdminAuthenticationForm
admin.site.site_header = "Seedance Studio administration"
admin.site.site_title = "Seedance Studio admin"
admin.site.index_title = "Members, credits and tasks"


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them our icon.

    Not permanent: in production the icon's address carries its hash.
    """
    return HttpResponseRedirect(static("generations/icon.svg"))


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
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", api.urls),
    path("", include("generations.urls")),
]

# A refused request (too many files, fields or a malformed body) says why.
handler400 = "generations.security.bad_request"
