"""The form renderer writes the plain inputs exactly as Django's templates do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from generations import forms as studio_forms
from generations.form_rendering import FormRenderer

TRICKY = 'quote " amp & <b>tag</b>'


class EveryInput(forms.Form):
    text = forms.CharField(
        label=TRICKY,
        widget=forms.TextInput(
            attrs={
                "placeholder": TRICKY,
                "data-safe": mark_safe("<i>kept</i>"),
                "required": True,
                "disabled": False,
                "data-number": 1234,
                "data-list": (1, 2),
            }
        ),
    )
    number = forms.IntegerField(min_value=0, max_value=10_000)
    decimal = forms.DecimalField(required=False)
    email = forms.EmailField(required=False)
    url = forms.URLField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(widget=forms.HiddenInput)
    flag = forms.BooleanField(required=False)
    date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    when = forms.DateTimeField(required=False)
    time = forms.TimeField(required=False)
    search = forms.CharField(required=False, widget=forms.SearchInput)
    phone = forms.CharField(required=False, widget=forms.TelInput)
    colour = forms.CharField(required=False, widget=forms.ColorInput)
    upload = forms.FileField(required=False)
    choice = forms.ChoiceField(
        choices=[("a", TRICKY), ("b", mark_safe("<em>safe</em>")), (3, 4)],
        widget=forms.RadioSelect(attrs={"class": "segmented"}),
    )
    grouped = forms.ChoiceField(
        required=False,
        choices=[("Group <1>", [("x", "X"), ("y", "Y")]), ("z", "Z")],
        widget=forms.RadioSelect,
    )
    many = forms.MultipleChoiceField(
        required=False,
        choices=[("1", "one"), ("2", "two"), ("3", TRICKY)],
        widget=forms.CheckboxSelectMultiple,
    )
    picked = forms.ChoiceField(choices=[("p", TRICKY), ("q", "Q")])
    menu = forms.MultipleChoiceField(
        required=False,
        choices=[(TRICKY, [(1, "one"), ("2", mark_safe("<b>two</b>"))]), ("3", 3)],
        widget=forms.SelectMultiple(attrs={"data-x": TRICKY, "hidden": True}),
    )
    empty = forms.ChoiceField(required=False, choices=[])
    nullable = forms.NullBooleanField()


def renders(form: forms.BaseForm) -> list[str]:
    out = []
    for field in form:
        out.append(str(field))
        out.append(field.as_widget())
        for sub in field.subwidgets:
            out.extend([str(sub), sub.tag(), sub.tag(wrap_label=True)])
    out.append(form.as_div())
    return out


def both(make: Any) -> tuple[list[str], list[str]]:
    djangos = make()
    djangos.renderer = DjangoTemplates()
    ours = make()
    ours.renderer = FormRenderer()
    return renders(djangos), renders(ours)


BOUND = {
    "text": TRICKY,
    "number": "12345",
    "decimal": "1.5",
    "email": "a@example.com",
    "password": TRICKY,
    "hidden": "0",
    "flag": "on",
    "date": "2026-11-30",
    "when": "2026-11-30 10:00",
    "choice": "3",
    "many": ["1", "3"],
    "picked": "p",
    "menu": ["1", "3"],
    "nullable": "true",
}


@pytest.mark.parametrize(
    "make",
    [
        EveryInput,
        lambda: EveryInput(data=BOUND),
        lambda: EveryInput(data={"number": "-1", "text": ""}),  # with errors
        lambda: EveryInput(initial={"date": dt.date(2026, 11, 30), "number": 5}),
    ],
    ids=["unbound", "bound", "errors", "initial"],
)
def test_it_writes_every_input_as_djangos_templates(make: Any) -> None:
    djangos, ours = both(make)
    assert ours == djangos


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
def test_it_writes_the_create_form_as_djangos_templates(
    alice: Any, language: str
) -> None:
    from django.utils import translation

    with translation.override(language):
        for data in (None, {"prompt": "no", "duration": "99", "sound": "on"}):
            djangos, ours = both(
                lambda data=data: studio_forms.GenerationForm(data, owner=alice)
            )
            assert ours == djangos


def test_the_studio_uses_it() -> None:
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), FormRenderer)


def test_it_writes_the_inputs_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from generations import form_rendering

    templates: list[str] = []
    djangos = DjangoTemplates.render

    def counted(self: Any, template_name: str, *args: Any, **kwargs: Any) -> str:
        templates.append(template_name)
        return djangos(self, template_name, *args, **kwargs)

    monkeypatch.setattr(DjangoTemplates, "render", counted)
    form = EveryInput(data=BOUND)
    form.renderer = FormRenderer()
    renders(form)
    written = (
        form_rendering.INPUTS
        | form_rendering.OPTIONS
        | {form_rendering.SELECT, form_rendering.INPUT_OPTION}
    )
    assert templates, "the form's own templates still go to Django"
    assert not written & set(templates)
