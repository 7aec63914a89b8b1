from __future__ import annotations

from django.urls import URLPattern, path

import generations.views.collections as collection_views
import generations.views.sharing as sharing_views
import generations.views.storyboards as board_views
from generations.views import credits as credits_views
from generations.views import (
    dashboard,
    exports,
    gallery,
    hooks,
    live,
    media,
    ops,
    overview,
    presets,
)
from generations.views import tokens as token_views

urlpatterns: list[URLPattern] = [
    path("", dashboard.dashboard, name="dashboard"),
    path("tasks/", dashboard.task_create, name="task_create"),
    path("tasks/cost/", dashboard.task_cost, name="task_cost"),
    path("tasks/<int:pk>/play/", dashboard.task_player, name="task_player"),
    path("tasks/refresh/", live.task_refresh, name="task_refresh"),
    path("tasks/<int:pk>/cancel/", dashboard.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/retry/", dashboard.task_retry, name="task_retry"),
    path("tasks/<int:pk>/hide/", dashboard.task_hide, name="task_hide"),
    path("tasks/<int:pk>/top/", ops.task_move_top, name="task_move_top"),
    path("tasks/cancel-queued/", ops.tasks_cancel_queued, name="tasks_cancel_queued"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("api/tokens/", token_views.token_list, name="api_tokens"),
    path(
        "api/tokens/<int:pk>/revoke/", token_views.token_revoke, name="api_token_revoke"
    ),
    path("api/webhooks/", token_views.webhook_list, name="api_webhooks"),
    path(
        "api/webhooks/<int:pk>/test/", token_views.webhook_test, name="api_webhook_test"
    ),
    path(
        "api/webhooks/<int:pk>/rotate/",
        token_views.webhook_rotate,
        name="api_webhook_rotate",
    ),
    path(
        "api/webhooks/<int:pk>/delete/",
        token_views.webhook_delete,
        name="api_webhook_delete",
    ),
    path("credits/", credits_views.credit_history, name="credit_history"),
    path("videos/<int:pk>/", gallery.video_detail, name="video_detail"),
    path("videos/<int:pk>/favourite/", gallery.video_favourite, name="video_favourite"),
    path("videos/<int:pk>/privacy/", gallery.video_privacy, name="video_privacy"),
    path(
        "gallery/bulk/favourite/",
        gallery.bulk_favourite,
        name="gallery_bulk_favourite",
    ),
    path("gallery/bulk/hide/", gallery.bulk_hide, name="gallery_bulk_hide"),
    path(
        "gallery/bulk/download/",
        gallery.bulk_download,
        name="gallery_bulk_download",
    ),
    path("gallery/bulk/collect/", gallery.bulk_collect, name="gallery_bulk_collect"),
    path("presets/", presets.preset_save, name="preset_save"),
    path("presets/delete/", presets.preset_delete, name="preset_delete"),
    path("media/videos/<int:pk>.mp4", media.video_file, name="video_file"),
    path("media/posters/<int:pk>.jpg", media.video_poster, name="video_poster"),
    path("media/frames/<int:pk>/", media.input_image_file, name="input_image"),
    path("i/<str:token>/", media.input_image_public, name="input_image_public"),
    path("staff/overview/", overview.staff_overview, name="staff_overview"),
    path("staff/breaker/", ops.breaker_force, name="breaker_force"),
    path("ops/banner/", ops.ops_banner, name="ops_banner"),
    path("staff/exports/tasks.csv", exports.export_tasks, name="export_tasks"),
    path("staff/exports/ledger.csv", exports.export_ledger, name="export_ledger"),
    # The provider's webhook (generations/views/hooks.py); pipeline/submit.py
    # builds the callback URL from this name.
    path(
        "hooks/apixo/<int:task_id>/<str:token>/",
        hooks.apixo_callback,
        name="apixo_callback",
    ),
    # Collections and share links (generations/views/collections.py, sharing.py).
    path("collections/", collection_views.collection_list, name="collection_list"),
    path(
        "collections/new/",
        collection_views.collection_create,
        name="collection_create",
    ),
    path(
        "collections/<int:pk>/",
        collection_views.collection_detail,
        name="collection_detail",
    ),
    path(
        "collections/<int:pk>/edit/",
        collection_views.collection_edit,
        name="collection_edit",
    ),
    path(
        "collections/<int:pk>/delete/",
        collection_views.collection_delete,
        name="collection_delete",
    ),
    path(
        "collections/<int:pk>/order/",
        collection_views.collection_order,
        name="collection_order",
    ),
    path(
        "collections/<int:pk>/items/<int:item_pk>/move/",
        collection_views.item_move,
        name="collection_item_move",
    ),
    path(
        "collections/<int:pk>/items/<int:item_pk>/remove/",
        collection_views.item_remove,
        name="collection_item_remove",
    ),
    path(
        "collections/<int:pk>/links/",
        sharing_views.link_create_for_collection,
        name="link_create_for_collection",
    ),
    path(
        "videos/<int:pk>/collect/",
        collection_views.collection_add_video,
        name="collection_add_video",
    ),
    path(
        "videos/<int:pk>/links/",
        sharing_views.link_create_for_video,
        name="link_create_for_video",
    ),
    path("links/", sharing_views.share_links, name="share_links"),
    path("links/<int:pk>/revoke/", sharing_views.link_revoke, name="link_revoke"),
    # Public pages: no login; token-scoped files never show internal ids.
    path("s/<str:token>/", sharing_views.share_page, name="share_page"),
    path(
        "s/<str:token>/v/<str:key>.mp4",
        sharing_views.share_video_file,
        name="share_video_file",
    ),
    path(
        "s/<str:token>/p/<str:key>.jpg",
        sharing_views.share_poster,
        name="share_poster",
    ),
    path("s/", sharing_views.share_not_found),
    path("s/<path:rest>", sharing_views.share_not_found, name="share_not_found"),
    # Storyboards (issue #15)
    path("storyboards/", board_views.board_list, name="storyboard_list"),
    path("storyboards/new/", board_views.board_create, name="storyboard_create"),
    path("storyboards/<int:pk>/", board_views.board_detail, name="storyboard_detail"),
    path("storyboards/<int:pk>/shots/", board_views.shot_add, name="shot_add"),
    path(
        "storyboards/<int:pk>/privacy/",
        board_views.board_privacy,
        name="storyboard_privacy",
    ),
    path(
        "storyboards/<int:pk>/order/", board_views.shots_reorder, name="shots_reorder"
    ),
    path(
        "storyboards/<int:pk>/generate/",
        board_views.board_generate,
        name="storyboard_generate",
    ),
    path("storyboards/<int:pk>/film/", board_views.film_make, name="film_make"),
    path("films/<int:pk>/delete/", board_views.film_delete, name="film_delete"),
    path("shots/<int:pk>/edit/", board_views.shot_edit, name="shot_edit"),
    path("shots/<int:pk>/move/", board_views.shot_move, name="shot_move"),
    path("shots/<int:pk>/delete/", board_views.shot_delete, name="shot_delete"),
    path("shots/<int:pk>/take/", board_views.take_choose, name="take_choose"),
    path("shots/<int:pk>/new-take/", board_views.shot_new_take, name="shot_new_take"),
    path(
        "videos/<int:pk>/continue/", board_views.video_continue, name="video_continue"
    ),
]
