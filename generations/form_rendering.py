"""The form renderer: Django's, with its plain ``<input>`` widgets written in Python.

Django renders each input through a chain of templates (``radio_option.html``
includes ``input_option.html``, which includes ``input.html``, which includes
``attrs.html``). The Studio's create form has 27 radio and check boxes, so the
chain ran about a hundred template renders on every Studio page. For the
templates below this renderer writes exactly what they would (the same
escaping, the newline each template file ends with, the renderer's strip);
every other widget template is Django's. ``tests/test_form_rendering.py``
renders every widget of our forms both ways and compares them byte for byte.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, SafeString, mark_safe

WIDGETS = "django/forms/widgets/"
# Written here: the plain inputs, the radio and check box options, and the
# select (with Django's own option template). Each of these includes
# "django/forms/widgets/input.html" and nothing more.
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)
# Each of these includes "django/forms/widgets/input_option.html" and nothing more.
OPTIONS = frozenset(
    f"{WIDGETS}{name}.html" for name in ("radio_option", "checkbox_option")
)
INPUT_OPTION = f"{WIDGETS}input_option.html"
SELECT = f"{WIDGETS}select.html"
SELECT_OPTION = f"{WIDGETS}select_option.html"


class FormRenderer(DjangoTemplates):
    def render(
        self, template_name: str, context: dict[str, Any], request: Any = None
    ) -> str:
        widget = context.get("widget")
        if isinstance(widget, dict):
            # Django's renderer strips what a template wrote; so do we.
            if template_name in INPUTS:
                return SafeString(_input(widget).strip())
            if template_name in OPTIONS or template_name == INPUT_OPTION:
                return SafeString(_input_option(widget).strip())
            if template_name == SELECT:
                select = _select(widget)
                if select is not None:
                    return SafeString(select.strip())
        return super().render(template_name, context, request)


_CONTEXT = Context(autoescape=True)


def _out(value: Any) -> str:
    """``{{ value }}`` as a template writes it (localized, escaped)."""
    return render_value_in_context(value, _CONTEXT)


def _string(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` (a safe value stays unescaped)."""
    text = stringformat(value, "s")
    return _out(mark_safe(text) if isinstance(value, SafeData) else text)


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(
            f" {_out(name)}" if value is True else f' {_out(name)}="{_string(value)}"'
        )
    return "".join(out)


def _input(widget: dict[str, Any]) -> str:
    """``input.html`` (its own trailing newline included)."""
    value = widget.get("value")
    shown = f' value="{_string(value)}"' if value is not None else ""
    kind, name = _out(widget.get("type", "")), _out(widget.get("name", ""))
    attrs = _attrs(widget.get("attrs") or {})
    return f'<input type="{kind}" name="{name}"{shown}{attrs}>\n'


def _input_option(widget: dict[str, Any]) -> str:
    """``input_option.html`` (its own trailing newline included)."""
    tag = _input(widget)
    if not widget.get("wrap_label"):
        return tag + "\n"
    ident = (widget.get("attrs") or {}).get("id")
    label_for = f' for="{_out(ident)}"' if ident else ""
    return f"<label{label_for}>{tag} {_out(widget.get('label', ''))}</label>\n"


def _select(widget: dict[str, Any]) -> str | None:
    """``select.html``; None if an option has a template of its own."""
    name, attrs = _out(widget.get("name", "")), _attrs(widget.get("attrs") or {})
    parts = [f'<select name="{name}"{attrs}>']
    for group_name, group_choices, _index in widget.get("optgroups", []):
        if group_name:
            parts.append(f'\n  <optgroup label="{_out(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != SELECT_OPTION:
                return None
            parts.append("\n  " + _select_option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _select_option(option: dict[str, Any]) -> str:
    """``select_option.html`` (its own trailing newline included)."""
    value, attrs = _string(option.get("value")), _attrs(option.get("attrs") or {})
    return f'<option value="{value}"{attrs}>{_out(option.get("label", ""))}</option>\n'
