"""The Studio: the create form beside the member's live task list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from generations import credits, forms, services
from generations.apixo import contract
from generations.models import (
    GenerationTask,
    InputImage,
    Kind,
    Mode,
    Preset,
    RememberedParams,
    State,
)
from generations.params import GenerationParams
from generations.views.cards import STUDIO_TEMPLATE, TaskCard, cards_of
from generations.views.common import AuthedHttpRequest, own_task_or_404
from generations.views.live import credits_changed, live_context, queue_panel

TEMPLATE = STUDIO_TEMPLATE
PAGE_SIZE = 30
# A frame within 3 % of an aspect ratio counts as that shape (no visible crop).
SHAPE_TOLERANCE = 0.03


@login_required
@require_GET
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    before = request.GET.get("before", "")
    if before and not forms.is_id(before):
        return HttpResponseBadRequest("before must be a task id")
    # The member's last parameters, then a remix link's values over them.
    initial = forms.initial_from_preset(RememberedParams.of(request.user.pk))
    initial.update(forms.initial_from_query(request.GET))
    presets = member_presets(request)
    chosen = _preset_from_query(request.GET.get("preset", ""), presets)
    if chosen is not None:
        # A preset sets the parameters; a prompt in the same link is kept.
        initial.update(forms.initial_from_preset(chosen.params))
    # Continue / Use this frame (views/storyboards.py) hands over a stored frame.
    continued = forms.kept_image_from_query(request.GET, owner=request.user)
    if continued is not None:
        initial["start_image_ref"] = request.GET["start_image_ref"]
    form = forms.GenerationForm(initial=initial, owner=request.user)
    if request.htmx.target == "create-form":
        # A preset chosen with JavaScript: only the form changes.
        if chosen is not None:
            messages.info(
                request,
                gettext("Applied the preset “%(name)s”.") % {"name": chosen.name},
            )
        context = _page_context(request, form, [])
        return render(request, f"{TEMPLATE}#form_answer", context)
    tasks = GenerationTask.objects.in_task_list_of(request.user)
    if before:
        tasks = tasks.filter(pk__lt=int(before))
    rows = list(tasks.select_related("video").order_by("-id")[: PAGE_SIZE + 1])
    context = _page_context(request, form, rows[:PAGE_SIZE], newest_page=not before)
    context["player"] = _newest_result(request, rows if not before else None)
    context.update(queue_panel(request, context["queued"]))
    context.update(preset_context(presets, chosen))
    context["older_before"] = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    if continued is not None:
        context["kept_images"] = {"start": continued}
    return render(request, TEMPLATE, context)


def _newest_result(
    request: AuthedHttpRequest, newest: list[GenerationTask] | None = None
) -> GenerationTask | None:
    """The video that plays large beside the form when the Studio opens.

    ``newest``: the member's newest tasks in their list (newest first, one more
    than a page), when the caller has them: the newest finished video among them
    is the answer, and if there is none and no older task, there is none at all.
    """
    if newest is not None:
        done = next((t for t in newest if _has_video(t)), None)
        if done is not None or len(newest) <= PAGE_SIZE:
            return done
    return (
        GenerationTask.objects.filter(
            owner_id=request.user.pk,
            hidden=False,
            state=State.SUCCEEDED,
            video__isnull=False,
        )
        .select_related("video")
        .order_by("-id")
        .first()
    )


def _has_video(task: GenerationTask) -> bool:
    return task.state == State.SUCCEEDED and hasattr(task, "video")


@login_required
@require_GET
def task_player(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Play one of the member's finished videos large, without leaving the Studio."""
    task = own_task_or_404(request, pk)
    if not _has_video(task):
        raise Http404("This task has no video to play.")
    if not request.htmx:
        return redirect("video_detail", pk=task.pk)
    context = {"player": task, "autoplay": True}
    return render(request, f"{TEMPLATE}#player", context)


def member_presets(request: AuthedHttpRequest) -> list[Preset]:
    return list(Preset.objects.filter(owner_id=request.user.pk).order_by("name", "id"))


def _preset_from_query(raw: str, presets: list[Preset]) -> Preset | None:
    return next((p for p in presets if str(p.pk) == raw), None) if raw else None


def preset_context(presets: list[Preset], chosen: Preset | None) -> dict[str, Any]:
    return {
        "presets": presets,
        "chosen_preset": chosen.pk if chosen else None,
        "presets_json": {str(p.pk): p.as_json() for p in presets},
    }


def _page_context(
    request: AuthedHttpRequest,
    form: forms.GenerationForm,
    tasks: list[GenerationTask],
    *,
    newest_page: bool = True,
    after: int | None = None,
) -> dict[str, Any]:
    """The page's context; ``after``: the newest task the list holds, when the
    caller knows it better than ``tasks`` (a create adds its tasks by itself)."""
    now = timezone.now()
    if after is None and newest_page:
        after = _after(tasks)
    context = live_context(
        request,
        now,
        after=after,
        # A card shown in flight is followed even if the count, read after the
        # cards, says it has finished since.
        watching=any(task.in_flight for task in tasks),
    )
    context.update(
        form=form,
        cards=cards_of(tasks, now),
        prompt_min=contract.PROMPT_MIN,
        prompt_max=contract.PROMPT_MAX,
        resolution_hints=forms.RESOLUTION_HINTS,
        kept_images=_kept_image_urls(form),
        aspect_table=aspect_table(),
    )
    context.update(_cost_context(_form_variants(form)))
    return context


def aspect_table() -> dict[str, Any]:
    """The provider's aspect ratios as numbers, for the frame-shape hint."""
    ratios = {}
    for name in contract.ASPECT_RATIOS:
        width, height = name.split(":")
        ratios[name] = int(width) / int(height)
    return {"ratios": ratios, "tolerance": SHAPE_TOLERANCE}


def _after(tasks: list[GenerationTask]) -> int:
    return max((task.pk for task in tasks), default=0)


@login_required
@require_POST
def task_cost(request: AuthedHttpRequest) -> HttpResponse:
    """The create form's cost and balance after, as the member changes parameters."""
    context = _cost_context(_parameters_variants(request.POST))
    context["variants_oob"] = True
    return render(request, f"{TEMPLATE}#cost_answer", context)


def _parameters_variants(data: QueryDict) -> list[GenerationParams] | None:
    """What task_create would make of these parameters (None if they are invalid).

    The cost depends on the parameters only, so the same form judges them with a
    stand-in prompt and in text mode (frames play no part).
    """
    params = data.copy()
    params["prompt"] = "x" * contract.PROMPT_MIN
    params["mode"] = Mode.TEXT
    form = forms.GenerationForm(params)
    return form.variants() if form.is_valid() else None


def _cost_context(variants: list[GenerationParams] | None) -> dict[str, Any]:
    if variants is None:
        return {"initial_cost": None, "variant_count": 0}
    cost = sum(variant.cost() for variant in variants)
    # The template adds minus_cost to the header's balance: no second query.
    return {"initial_cost": cost, "minus_cost": -cost, "variant_count": len(variants)}


def _form_variants(form: forms.GenerationForm) -> list[GenerationParams] | None:
    """The cost shown when the page loads (and without JavaScript)."""
    data = QueryDict(mutable=True)
    for name in forms.PRESET_FIELDS:
        value = form[name].value()
        if isinstance(value, list):
            data.setlist(name, [str(v) for v in value])
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return _parameters_variants(data)


def _kept_image_urls(form: forms.GenerationForm) -> dict[str, InputImage]:
    return dict(form.kept_images) if form.is_bound else {}


@login_required
@require_POST
def task_create(request: AuthedHttpRequest) -> HttpResponse:
    form = forms.GenerationForm(request.POST, request.FILES, owner=request.user)
    if not form.is_valid():
        return _form_error(request, form)
    stored = form.store_images(request.user)
    try:
        created = services.create_generations(
            owner=request.user, variants=form.variants(), images=stored
        )
    except credits.CreditsRefused as exc:
        # Nothing was queued; keep the values (and the stored frames) for a retry.
        kept = forms.GenerationForm(
            forms.with_kept_images(request.POST, stored), owner=request.user
        )
        kept.is_valid()
        kept.add_error(None, _refusal(exc))
        return _form_error(request, kept)
    RememberedParams.remember(owner_id=request.user.pk, params=_params_of(form))
    # The per-task copies now point at the stored files; the drafts can go.
    InputImage.objects.filter(pk__in=[i.pk for i in stored], task=None).delete()
    count = len(created)
    messages.success(
        request,
        ngettext("Queued %(count)s video.", "Queued %(count)s videos.", count)
        % {"count": count}
        if count > 1
        else gettext("Queued: it is at the top of your task list."),
    )
    if not request.htmx:
        return redirect("dashboard")
    fresh = forms.GenerationForm(initial=_kept_params(form), owner=request.user)
    context = _page_context(request, fresh, [], after=max(t.pk for t in created))
    context["new_cards"] = cards_of(created, timezone.now())
    context.update(queue_panel(request, context["queued"], oob=True))
    return render(request, f"{TEMPLATE}#created", context)


def _refusal(exc: credits.CreditsRefused) -> str:
    if isinstance(exc, credits.InsufficientCredits):
        return gettext("Not enough credits: %(reason)s") % {"reason": exc}
    return str(exc)


def _params_of(form: forms.GenerationForm) -> dict[str, Any]:
    """The parameters in the presets' terms (JSON-safe; no prompt, no frames)."""
    return {name: form.cleaned_data[name] for name in forms.PRESET_FIELDS}


def _kept_params(form: forms.GenerationForm) -> dict[str, Any]:
    """The next form keeps the settings and clears the prompt and frames."""
    return {name: form.cleaned_data[name] for name in GenerationParams.setting_names()}


def _form_error(request: AuthedHttpRequest, form: forms.GenerationForm) -> HttpResponse:
    if request.htmx:
        # The problem may be out of sight (a frame slot above the fold): say so.
        messages.error(request, gettext("Not generated: see the highlighted field."))
        context = _page_context(request, form, [])
        return render(request, f"{TEMPLATE}#form_answer", context, status=422)
    tasks = list(
        GenerationTask.objects.in_task_list_of(request.user)
        .select_related("video")
        .order_by("-id")[:PAGE_SIZE]
    )
    context = _page_context(request, form, tasks)
    context.update(preset_context(member_presets(request), None))
    return render(request, TEMPLATE, context, status=422)


def _card_response(
    request: AuthedHttpRequest, task: GenerationTask, status: int = 200
) -> HttpResponse:
    # The list header catches up on its next poll; it keeps its own `after`.
    task.refresh_from_db()
    context = {"card": TaskCard(task, timezone.now()), "oob_balance": True}
    response = render(request, f"{TEMPLATE}#card_changed", context, status=status)
    return credits_changed(response)


@login_required
@require_POST
def task_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if services.cancel_task(task):
        messages.success(request, gettext("Cancelled; the held credits are back."))
        status = 200
    else:
        messages.error(
            request, gettext("Too late to cancel: the task has left the queue.")
        )
        status = 409
    if not request.htmx:
        return redirect("dashboard")
    return _card_response(request, task, status)


@login_required
@require_POST
def task_retry(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if not task.is_terminal:
        messages.error(
            request, gettext("A task still in flight cannot be retried yet.")
        )
        return _retry_answer(request, None, status=409)
    if task.kind == Kind.FILM:  # made from its board (Make the film), not generated
        messages.error(request, gettext("A film is made again from its storyboard."))
        return _retry_answer(request, None, status=409)
    try:
        new_task = services.retry_task(task)
    except credits.CreditsRefused as exc:
        messages.error(
            request, gettext("Not retried. %(reason)s") % {"reason": _refusal(exc)}
        )
        return _retry_answer(request, None, status=409)
    messages.success(request, gettext("Retrying as a new task."))
    return _retry_answer(request, new_task)


def _retry_answer(
    request: AuthedHttpRequest, new_task: GenerationTask | None, status: int = 200
) -> HttpResponse:
    if not request.htmx:
        return redirect("dashboard")
    now = timezone.now()
    new_cards = [TaskCard(new_task, now)] if new_task else []
    # Keep polling for cards this tab has not seen: only a new task moves `after`.
    context = live_context(request, now, after=new_task.pk if new_task else None)
    context.update(new_cards=new_cards, live_oob=new_task is not None)
    if new_task is not None:
        context.update(queue_panel(request, context["queued"], oob=True))
    response = render(request, f"{TEMPLATE}#retried", context, status=status)
    return credits_changed(response)


@login_required
@require_POST
def task_hide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if not task.is_terminal:
        messages.error(
            request, gettext("A task in flight cannot be hidden; cancel it first.")
        )
        if not request.htmx:
            return redirect("dashboard")
        return _card_response(request, task, status=409)
    services.set_hidden(owner=request.user, task_ids=[task.pk], hidden=True)
    if not request.htmx:
        messages.success(request, gettext("Hidden from your list and the gallery."))
        return redirect("dashboard")
    return HttpResponse("")
