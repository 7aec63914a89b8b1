"""The Studio: the create form beside the member's live task list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from generations import credits, forms, services
from generations.apixo import contract
from generations.models import (
    IN_FLIGHT_STATES,
    GenerationTask,
    InputImage,
    Kind,
    Preset,
)
from generations.params import GenerationParams
from generations.views.cards import TaskCard
from generations.views.common import AuthedHttpRequest, own_task_or_404

TEMPLATE = "generations/dashboard.html"
PAGE_SIZE = 30
# A worker may commit a change stamped a moment before our query ran: asking again
# from a little earlier re-sends a card now and then but never misses one.
SINCE_OVERLAP = dt.timedelta(seconds=2)
MAX_CHANGED_CARDS = 100


@login_required
@require_GET
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    before = request.GET.get("before", "")
    if before and not forms.is_id(before):
        return HttpResponseBadRequest("before must be a task id")
    initial = forms.initial_from_query(request.GET)
    presets = _presets(request)
    chosen = _preset_from_query(request.GET.get("preset", ""), presets)
    if chosen is not None:
        # A preset sets the parameters; a prompt in the same link is kept.
        initial.update(forms.initial_from_preset(chosen.params))
    # Continue / Use this frame (views/storyboards.py) hands over a stored frame.
    continued = forms.kept_image_from_query(request.GET, owner=request.user)
    if continued is not None:
        initial["start_image_ref"] = request.GET["start_image_ref"]
    form = forms.GenerationForm(initial=initial, owner=request.user)
    tasks = GenerationTask.objects.in_task_list_of(request.user)
    if before:
        tasks = tasks.filter(pk__lt=int(before))
    rows = list(tasks.select_related("video").order_by("-id")[: PAGE_SIZE + 1])
    context = _page_context(request, form, rows[:PAGE_SIZE], newest_page=not before)
    context.update(_preset_context(presets, chosen))
    context["older_before"] = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    if continued is not None:
        context["kept_images"] = {"start": continued}
    return render(request, TEMPLATE, context)


def _presets(request: AuthedHttpRequest) -> list[Preset]:
    return list(Preset.objects.filter(owner_id=request.user.pk).order_by("name", "id"))


def _preset_from_query(raw: str, presets: list[Preset]) -> Preset | None:
    return next((p for p in presets if str(p.pk) == raw), None) if raw else None


def _preset_context(presets: list[Preset], chosen: Preset | None) -> dict[str, Any]:
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
) -> dict[str, Any]:
    now = timezone.now()
    cost = _initial_cost(form)
    context = _live_context(request, now, after=_after(tasks) if newest_page else None)
    context.update(
        form=form,
        cards=[TaskCard(task, now) for task in tasks],
        price_table=credits.price_table(),
        prompt_min=contract.PROMPT_MIN,
        prompt_max=contract.PROMPT_MAX,
        resolution_hints=forms.RESOLUTION_HINTS,
        initial_cost=cost,
        # The template adds this to the header's balance: no second query.
        minus_cost=-cost,
        kept_images=_kept_image_urls(form),
    )
    return context


def _after(tasks: list[GenerationTask]) -> int:
    return max((task.pk for task in tasks), default=0)


def _live_context(
    request: AuthedHttpRequest, now: dt.datetime, *, after: int | None
) -> dict[str, Any]:
    """What the list's live header needs: running count and the next poll URL."""
    running = (
        GenerationTask.objects.in_task_list_of(request.user)
        .filter(state__in=IN_FLIGHT_STATES)
        .count()
    )
    return {
        "running": running,
        "since": int((now - SINCE_OVERLAP).timestamp() * 1000),
        "after": after,
    }


def _initial_cost(form: forms.GenerationForm) -> int:
    """The cost shown before JavaScript runs (or without it)."""
    if form.is_bound and form.is_valid():
        return sum(params.cost() for params in form.variants())
    value = form["resolution"].value()
    return credits.cost_of(
        resolution=str(value if value in ("480p", "720p") else "720p"),
        sound=bool(form["sound"].value()),
        duration=_as_int(form["duration"].value(), 8),
        routing=str(form["routing"].value() or ""),
    )


def _as_int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number in contract.DURATIONS else default


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
    # The per-task copies now point at the stored files; the drafts can go.
    InputImage.objects.filter(pk__in=[i.pk for i in stored], task=None).delete()
    count = len(created)
    messages.success(
        request,
        f"Queued {count} videos."
        if count > 1
        else "Queued: it is at the top of your task list.",
    )
    if not request.htmx:
        return redirect("dashboard")
    fresh = forms.GenerationForm(initial=_kept_params(form), owner=request.user)
    now = timezone.now()
    context = _page_context(request, fresh, [])
    context.update(
        _live_context(request, now, after=max(t.pk for t in created)),
        new_cards=[TaskCard(t, now) for t in created],
    )
    return render(request, f"{TEMPLATE}#created", context)


def _refusal(exc: credits.CreditsRefused) -> str:
    if isinstance(exc, credits.InsufficientCredits):
        return f"Not enough credits: {exc}"
    return str(exc)


def _kept_params(form: forms.GenerationForm) -> dict[str, Any]:
    """The next form keeps the settings and clears the prompt and frames."""
    return {name: form.cleaned_data[name] for name in GenerationParams.setting_names()}


def _form_error(request: AuthedHttpRequest, form: forms.GenerationForm) -> HttpResponse:
    if request.htmx:
        context = _page_context(request, form, [])
        return render(request, f"{TEMPLATE}#create_form", context, status=422)
    tasks = list(
        GenerationTask.objects.in_task_list_of(request.user)
        .select_related("video")
        .order_by("-id")[:PAGE_SIZE]
    )
    context = _page_context(request, form, tasks)
    context.update(_preset_context(_presets(request), None))
    return render(request, TEMPLATE, context, status=422)


def parse_since(value: str) -> dt.datetime | None:
    """``since`` as epoch milliseconds or an ISO 8601 timestamp."""
    if not value:
        return None
    if value.isdecimal():
        try:
            return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
        except (OverflowError, ValueError, OSError):
            return None
    try:
        moment = dt.datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


@login_required
@require_GET
def task_refresh(request: AuthedHttpRequest) -> HttpResponse:
    """One poll per tab: the list header, plus only the cards that changed."""
    since = parse_since(request.GET.get("since", ""))
    after_raw = request.GET.get("after", "")
    if since is None or (after_raw and not forms.is_id(after_raw)):
        return HttpResponseBadRequest("since must be epoch ms or ISO 8601")
    after = int(after_raw) if after_raw else None
    now = timezone.now()
    mine = GenerationTask.objects.filter(owner_id=request.user.pk).select_related(
        "video"
    )
    # Two index-friendly queries rather than one OR (which scans every task of the
    # member): changed since the last poll (owner, updated_at), and new (owner, id).
    found = {
        task.pk: task
        for task in mine.filter(updated_at__gt=since).order_by("-id")[
            :MAX_CHANGED_CARDS
        ]
    }
    if after is not None:
        found.update(
            (task.pk, task)
            for task in mine.filter(pk__gt=after).order_by("-id")[:MAX_CHANGED_CARDS]
        )
    rows = sorted(found.values(), key=lambda task: -task.pk)[:MAX_CHANGED_CARDS]
    new = [t for t in rows if after is not None and t.pk > after and not t.hidden]
    changed = [t for t in rows if after is None or t.pk <= after]
    next_after = max([after or 0, *(t.pk for t in new)]) if after is not None else None
    context = _live_context(request, now, after=next_after)
    context.update(
        new_cards=[TaskCard(t, now) for t in new],
        changed_cards=[TaskCard(t, now) for t in changed if not t.hidden],
        hidden_ids=[t.pk for t in changed if t.hidden],
        oob_balance=bool(rows),
    )
    return render(request, f"{TEMPLATE}#refresh", context)


def _card_response(
    request: AuthedHttpRequest, task: GenerationTask, status: int = 200
) -> HttpResponse:
    # The list header catches up on its next poll; it keeps its own `after`.
    task.refresh_from_db()
    context = {"card": TaskCard(task, timezone.now()), "oob_balance": True}
    return render(request, f"{TEMPLATE}#card_changed", context, status=status)


@login_required
@require_POST
def task_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if services.cancel_task(task):
        messages.success(request, "Cancelled; the held credits are back.")
        status = 200
    else:
        messages.error(request, "Too late to cancel: the task has left the queue.")
        status = 409
    if not request.htmx:
        return redirect("dashboard")
    return _card_response(request, task, status)


@login_required
@require_POST
def task_retry(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if not task.is_terminal:
        messages.error(request, "A task still in flight cannot be retried yet.")
        return _retry_answer(request, None, status=409)
    if task.kind == Kind.FILM:  # made from its board (Make the film), not generated
        messages.error(request, gettext("A film is made again from its storyboard."))
        return _retry_answer(request, None, status=409)
    try:
        new_task = services.retry_task(task)
    except credits.CreditsRefused as exc:
        messages.error(request, f"Not retried. {_refusal(exc)}")
        return _retry_answer(request, None, status=409)
    messages.success(request, "Retrying as a new task.")
    return _retry_answer(request, new_task)


def _retry_answer(
    request: AuthedHttpRequest, new_task: GenerationTask | None, status: int = 200
) -> HttpResponse:
    if not request.htmx:
        return redirect("dashboard")
    now = timezone.now()
    new_cards = [TaskCard(new_task, now)] if new_task else []
    # Keep polling for cards this tab has not seen: only a new task moves `after`.
    context = _live_context(request, now, after=new_task.pk if new_task else None)
    context.update(new_cards=new_cards, live_oob=new_task is not None)
    return render(request, f"{TEMPLATE}#retried", context, status=status)


@login_required
@require_POST
def task_hide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if not task.is_terminal:
        messages.error(request, "A task in flight cannot be hidden; cancel it first.")
        if not request.htmx:
            return redirect("dashboard")
        return _card_response(request, task, status=409)
    services.set_hidden(owner=request.user, task_ids=[task.pk], hidden=True)
    if not request.htmx:
        messages.success(request, "Hidden from your list and the gallery.")
        return redirect("dashboard")
    return HttpResponse("")


# ---------- Presets ----------


@login_required
@require_POST
def preset_save(request: AuthedHttpRequest) -> HttpResponse:
    """Save the create form's parameters under a name (the same name updates it)."""
    form = forms.PresetForm(request.POST)
    if not form.is_valid():
        return _preset_refused(request, _first_error(form))
    name = form.cleaned_data["preset_name"].strip()
    try:
        preset, created = services.save_preset(
            owner=request.user, name=name, params=form.params()
        )
    except services.Refused as exc:
        return _preset_refused(request, str(exc))
    verb = "Saved" if created else "Updated"
    messages.success(request, f"{verb} the preset “{name}”.")
    return _preset_answer(request, chosen=preset)


@login_required
@require_POST
def preset_delete(request: AuthedHttpRequest) -> HttpResponse:
    raw = request.POST.get("preset", "")
    if not raw:
        return _preset_refused(request, "Choose the preset to delete first.")
    if not forms.is_id(raw):
        return HttpResponseBadRequest("preset must be an id")
    preset = Preset.objects.filter(pk=int(raw), owner_id=request.user.pk).first()
    if preset is None:
        raise Http404("No such preset.")
    preset.delete()
    messages.success(request, f"Deleted the preset “{preset.name}”.")
    return _preset_answer(request, chosen=None)


def _first_error(form: forms.PresetForm) -> str:
    for name, errors in form.errors.items():
        if name == "preset_name":
            return str(errors[0])
        return f"Not saved: {errors[0]}"
    return "Not saved."


def _preset_refused(request: AuthedHttpRequest, text: str) -> HttpResponse:
    if not request.htmx:
        messages.error(request, text)
        return redirect("dashboard")
    context = _preset_context(_presets(request), None)
    context.update(preset_error=text, preset_name=request.POST.get("preset_name", ""))
    return render(request, f"{TEMPLATE}#preset_bar", context, status=422)


def _preset_answer(request: AuthedHttpRequest, chosen: Preset | None) -> HttpResponse:
    if not request.htmx:
        url = reverse("dashboard")
        return redirect(f"{url}?preset={chosen.pk}" if chosen else url)
    context = _preset_context(_presets(request), chosen)
    context["toasts_oob"] = True
    return render(request, f"{TEMPLATE}#preset_answer", context)
