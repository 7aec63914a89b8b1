"""Presets: the create form's parameters saved under a name (the studio's bar)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from generations import forms, services
from generations.models import Preset
from generations.views.common import AuthedHttpRequest
from generations.views.dashboard import TEMPLATE, member_presets, preset_context


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
    saved = (
        gettext("Saved the preset “%(name)s”.")
        if created
        else gettext("Updated the preset “%(name)s”.")
    )
    messages.success(request, saved % {"name": name})
    return _preset_answer(request, chosen=preset)


@login_required
@require_POST
def preset_delete(request: AuthedHttpRequest) -> HttpResponse:
    raw = request.POST.get("preset", "")
    if not raw:
        return _preset_refused(request, gettext("Choose the preset to delete first."))
    if not forms.is_id(raw):
        return HttpResponseBadRequest("preset must be an id")
    preset = Preset.objects.filter(pk=int(raw), owner_id=request.user.pk).first()
    if preset is None:
        raise Http404("No such preset.")
    preset.delete()
    messages.success(
        request, gettext("Deleted the preset “%(name)s”.") % {"name": preset.name}
    )
    return _preset_answer(request, chosen=None)


def _first_error(form: forms.PresetForm) -> str:
    for name, errors in form.errors.items():
        if name == "preset_name":
            return str(errors[0])
        return gettext("Not saved: %(reason)s") % {"reason": errors[0]}
    return gettext("Not saved.")


def _preset_refused(request: AuthedHttpRequest, text: str) -> HttpResponse:
    if not request.htmx:
        messages.error(request, text)
        return redirect("dashboard")
    context = preset_context(member_presets(request), None)
    context.update(preset_error=text, preset_name=request.POST.get("preset_name", ""))
    return render(request, f"{TEMPLATE}#preset_bar", context, status=422)


def _preset_answer(request: AuthedHttpRequest, chosen: Preset | None) -> HttpResponse:
    if not request.htmx:
        url = reverse("dashboard")
        return redirect(f"{url}?preset={chosen.pk}" if chosen else url)
    context = preset_context(member_presets(request), chosen)
    context["toasts_oob"] = True
    return render(request, f"{TEMPLATE}#preset_answer", context)
