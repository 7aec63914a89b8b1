"""A task card of the Studio, written in Python: the page's list and the live poll.

The Studio shows 30 cards. Through the template engine each card was about 120
nodes (its state, chips, progress, forms and their CSRF fields, a dozen
translations): half of the page's time in a profile. Written here, every value
escaped as the templates escaped it (translations too), they cost about a
millisecond. Templates write a card with ``{% task_card card %}``, a card's
moving parts with ``{% card_tick card %}`` and a delivery note with
``{% delivery_note task %}`` (``templatetags/cards.py``);
``tests/test_card_html.py`` reads the cards back in every state.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from generations.durations import format_seconds
from generations.models import GenerationTask, Kind, Mode, State
from generations.templatetags.clip import clip
from generations.views.cards import TaskCard
from generations.views.common import escaped as _e
from generations.views.common import per_language

PLAY_ICON = '<svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>'
BIN_ICON = (
    '<svg aria-hidden="true" viewBox="0 0 24 24" class="icon">'
    '<path d="M4 7h16M9 7V4h6v3m-8 0 1 13h8l1-13"/></svg>'
)
OOB = ' hx-swap-oob="true"'


@dataclass(frozen=True)
class CardWords:
    """The words every card of a list shares, in the page's language."""

    ready: str
    failed_title: str
    elapsed: str
    total_time: str
    since_queued: str
    parameters: str
    image_mode: str
    text_mode: str
    sound: str
    silent: str
    fixed_lens: str
    failed: str
    no_reason: str
    unknown: str
    estimate: str
    refunded: str
    cancel: str
    move_top: str
    retry: str
    remix: str
    open: str
    continue_title: str
    continue_label: str
    hide_confirm: str
    hide: str
    progress: str

    @classmethod
    def now(cls) -> CardWords:
        """In the active language."""
        return _cardwords()


@per_language
def _cardwords() -> CardWords:
    return CardWords(
        ready=_("Your video is ready"),
        failed_title=_("A video failed"),
        elapsed=_("Elapsed"),
        total_time=_("Total time"),
        since_queued=_("Time since queued"),
        parameters=_("Parameters"),
        image_mode=_("Image → video"),
        text_mode=_("Text → video"),
        sound=_("Sound"),
        silent=_("Silent"),
        fixed_lens=_("Fixed lens"),
        failed=_("Failed:"),
        no_reason=_("The provider gave no reason."),
        unknown=_(
            "We could not tell whether the provider accepted it. It is not "
            "re-sent blindly: we are checking."
        ),
        estimate=_("estimate"),
        refunded=_("refunded"),
        cancel=_("Cancel"),
        move_top=_("Move to top"),
        retry=_("Retry"),
        remix=_("Remix"),
        open=_("Open"),
        continue_title=_("A new video that starts from the last frame of this one"),
        continue_label=_("Continue"),
        hide_confirm=_("Hide this task from your list and the gallery?"),
        hide=_("Hide"),
        progress=_("Estimated progress"),
    )


def card_html(
    card: TaskCard,
    csrf_token: str,
    *,
    oob: bool = False,
    words: CardWords | None = None,
) -> str:
    """One card: its media, state, parameters, progress and actions."""
    words = words or CardWords.now()
    task = card.task
    pk = task.pk
    state = task.state
    tone = _e(card.tone)
    in_flight = task.in_flight
    notify = ""
    if state == State.SUCCEEDED:
        notify = f' data-notify-title="{_e(words.ready)}"'
    elif state == State.FAILED:
        notify = f' data-notify-title="{_e(words.failed_title)}"'
    pulse = '<span class="pulse" aria-hidden="true"></span>' if in_flight else ""
    return (
        f'<li id="task-{pk}" class="task-card tone-{tone}"{OOB if oob else ""}'
        f' data-state="{_e(state)}" data-in-flight="{1 if in_flight else 0}"{notify}>'
        f'<div class="card-media">{_media(card)}</div>'
        '<div class="card-body">'
        '<div class="card-top">'
        f'<span class="state-badge tone-{tone}">{pulse}'
        f"{_e(task.get_state_display())}</span>"
        '<span class="card-meta">'
        f'<span class="visually-hidden">{_e(words.elapsed)}</span> '
        f"{elapsed_html(card, words=words)}"
        "</span>"
        "</div>"
        f'<p class="card-prompt" title="{_e(task.prompt)}">'
        f"{_e(clip(task.prompt, 150))}</p>"
        f'<ul class="chips" aria-label="{_e(words.parameters)}">'
        f"{_chips(task, words)}</ul>"
        f"{_notes(task, words)}"
        f"{_progress_row(card, words) if in_flight else ''}"
        '<div class="card-foot">'
        f'<span class="cost">{_cost(task, words)}</span>'
        f'<div class="card-actions">{_actions(card, csrf_token, words)}</div>'
        "</div>"
        "</div>"
        "</li>"
    )


def _media(card: TaskCard) -> str:
    task = card.task
    # No video row (a reverse one-to-one raises an AttributeError): no thumbnail.
    video = getattr(task, "video", None)
    if task.state == State.SUCCEEDED and video is not None:
        label = _("Play video %(pk)s here") % {"pk": task.pk}
        return (
            f'<a href="{_e(card.detail_url)}" class="card-thumb"'
            f' aria-label="{_e(label)}"'
            f' hx-get="{_e(card.player_url)}" hx-target="#player" hx-swap="outerHTML">'
            f'<img src="{_e(card.poster_url)}" alt="" loading="lazy" decoding="async"'
            f' width="{_e(video.width)}" height="{_e(video.height)}">'
            f'<span class="play-badge" aria-hidden="true">{PLAY_ICON}</span>'
            "</a>"
        )
    return (
        '<div class="card-placeholder">'
        f'<span class="shape" data-aspect="{_e(task.aspect_ratio)}" aria-hidden="true">'
        "</span></div>"
    )


def _chips(task: GenerationTask, words: CardWords) -> str:
    mode = words.image_mode if task.mode == Mode.IMAGE else words.text_mode
    aspect = _e(task.aspect_ratio)
    return (
        f"<li>{_e(mode)}</li>"
        f"<li>{_e(task.resolution)}</li>"
        f"<li>{_e(format_seconds(float(task.duration or 0)))}</li>"
        f'<li><span class="shape shape-xs" data-aspect="{aspect}" aria-hidden="true">'
        f"</span>{aspect}</li>"
        f"<li>{_e(words.sound if task.sound else words.silent)}</li>"
        + (f"<li>{_e(words.fixed_lens)}</li>" if task.fixed_lens else "")
    )


def _notes(task: GenerationTask, words: CardWords) -> str:
    note = ""
    if task.state == State.FAILED:
        reason = task.fail_reason or words.no_reason
        note = (
            f'<p class="fail-reason" role="note"><strong>{_e(words.failed)}</strong>'
            f" {_e(reason)}</p>"
        )
    elif task.state == State.UNKNOWN:
        note = f'<p class="hint">{_e(words.unknown)}</p>'
    return note + delivery_note_html(task)


def delivery_note_html(task: GenerationTask) -> str:
    """How the delivered video differs from the order (a card, the detail page)."""
    if not task.delivery_mismatch:
        return ""
    notes = "; ".join(_e(note) for note in task.delivery_notes)
    return (
        '<p class="delivery-note" role="note">'
        f"<strong>{_e(_('Not as ordered:'))}</strong> {notes}."
        f" {_e(_('You were charged only for what was delivered.'))}</p>"
    )


def _progress_row(card: TaskCard, words: CardWords) -> str:
    duration = format_seconds(float(card.task.duration or 0))
    title = _(
        "Estimated from the provider's usual generation time for %(duration)s videos"
    ) % {"duration": duration}
    return (
        '<div class="progress-row">'
        f"{progress_html(card, words=words)}"
        f'<span class="estimate-tag" title="{_e(title)}">{_e(words.estimate)}</span>'
        "</div>"
    )


def _cost(task: GenerationTask, words: CardWords) -> str:
    cost = ngettext("%(counter)s credit", "%(counter)s credits", task.cost) % {
        "counter": task.cost
    }
    refunded = task.state in {State.FAILED, State.CANCELLED}
    return _e(cost) + (
        f' <span class="muted">· {_e(words.refunded)}</span>' if refunded else ""
    )


def _actions(card: TaskCard, csrf_token: str, words: CardWords) -> str:
    task = card.task
    pk = task.pk
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">'
    parts = []
    if card.can_cancel:
        cancel, move_top = _e(card.cancel_url), _e(card.move_top_url)
        parts.append(
            f'<form method="post" action="{cancel}" hx-post="{cancel}"'
            f' hx-target="#task-{pk}" hx-swap="outerHTML">{csrf}'
            f'<button type="submit" class="btn btn-sm btn-ghost">{_e(words.cancel)}'
            "</button></form>"
            f'<form method="post" action="{move_top}">{csrf}'
            f'<button type="submit" class="btn btn-sm btn-ghost">{_e(words.move_top)}'
            "</button></form>"
        )
    if card.can_retry:
        retry = _e(card.retry_url)
        parts.append(
            f'<form method="post" action="{retry}" hx-post="{retry}" hx-swap="none">'
            f'{csrf}<button type="submit" class="btn btn-sm">{_e(words.retry)}'
            "</button></form>"
        )
    is_film = task.kind == Kind.FILM
    if not is_film:
        parts.append(
            f'<a class="btn btn-sm btn-ghost remix-link" href="{_e(card.remix_url)}">'
            f"{_e(words.remix)}</a>"
        )
    if task.state == State.SUCCEEDED:
        parts.append(
            f'<a class="btn btn-sm" href="{_e(card.detail_url)}">{_e(words.open)}</a>'
        )
        if not is_film:
            parts.append(
                f'<form method="post" action="{_e(card.continue_url)}">{csrf}'
                f'<button type="submit" class="btn btn-sm"'
                f' title="{_e(words.continue_title)}">{_e(words.continue_label)}'
                "</button></form>"
            )
    if card.can_hide:
        hide = _e(card.hide_url)
        label = _("Hide task %(pk)s") % {"pk": pk}
        parts.append(
            f'<form method="post" action="{hide}" hx-post="{hide}"'
            f' hx-target="#task-{pk}" hx-swap="outerHTML"'
            f' hx-confirm="{_e(words.hide_confirm)}">{csrf}'
            '<button type="submit" class="btn btn-sm btn-ghost btn-icon"'
            f' aria-label="{_e(label)}" title="{_e(words.hide)}">{BIN_ICON}'
            "</button></form>"
        )
    return "".join(parts)


def elapsed_html(
    card: TaskCard, *, oob: bool = False, words: CardWords | None = None
) -> str:
    """The time since the task was queued (its total once it ended)."""
    words = words or CardWords.now()
    title = words.total_time if card.task.is_terminal else words.since_queued
    return (
        f'<time id="task-{card.task.pk}-elapsed" class="elapsed"'
        f' datetime="PT{card.elapsed_seconds}S" title="{_e(title)}"'
        f"{OOB if oob else ''}>{_e(card.elapsed_label)}</time>"
    )


def progress_html(
    card: TaskCard, *, oob: bool = False, words: CardWords | None = None
) -> str:
    """The estimated progress at the provider, and the time left."""
    words = words or CardWords.now()
    progress = card.progress
    return (
        f'<span class="progress-live" id="task-{card.task.pk}-progress"'
        f"{OOB if oob else ''}>"
        f'<progress class="progress" max="100" value="{progress}"'
        f' aria-label="{_e(words.progress)}">{progress}%</progress>'
        f' <span class="eta">{_e(card.eta_label)}</span></span>'
    )
