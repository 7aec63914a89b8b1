from __future__ import annotations

from django.urls import URLPattern, path

from generations.views import credits as credits_views
from generations.views import dashboard, gallery, hooks, media

urlpatterns: list[URLPattern] = [
    path("", dashboard.dashboard, name="dashboard"),
    path("tasks/", dashboard.task_create, name="task_create"),
    path("tasks/refresh/", dashboard.task_refresh, name="task_refresh"),
    path("tasks/<int:pk>/cancel/", dashboard.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/retry/", dashboard.task_retry, name="task_retry"),
    path("tasks/<int:pk>/hide/", dashboard.task_hide, name="task_hide"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("credits/", credits_views.credit_history, name="credit_history"),
    path("videos/<int:pk>/", gallery.video_detail, name="video_detail"),
    path("media/videos/<int:pk>.mp4", media.video_file, name="video_file"),
    path("media/posters/<int:pk>.jpg", media.video_poster, name="video_poster"),
    path("media/frames/<int:pk>/", media.input_image_file, name="input_image"),
    path("i/<str:token>/", media.input_image_public, name="input_image_public"),
    # The provider's webhook (generations/views/hooks.py); pipeline/submit.py
    # builds the callback URL from this name.
    path(
        "hooks/apixo/<int:task_id>/<str:token>/",
        hooks.apixo_callback,
        name="apixo_callback",
    ),
]
