"""Template helpers of the chats pages and the menu: icons drawn once, links reversed once, the
options of a long select. «Чаты» shows fifteen cards of several of each."""

import functools
from html import escape

from django import template
from django.conf import settings
from django.template.base import Variable
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import time as time_filter
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

register = template.Library()


# Stroke icons on a 24×24 grid, drawn inline: the product runs in closed networks.
ICONS = {
    "envelope": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3.5 7 8.5 6 8.5-6"/>',
    "chat": '<path d="M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5'
    ' 1.5H10l-4.5 4v-4A1.5 1.5 0 0 1 4 14.5z"/>',
    "video": '<rect x="3" y="6" width="12.5" height="12" rx="2"/>'
    '<path d="m15.5 10.5 5-3v9l-5-3z"/>',
    "edit": '<path d="M4 20h4L19.5 8.5a2.1 2.1 0 0 0-4-4L4 16z"/><path d="m13.5 6.5 4 4"/>',
    "trash": '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12.5a1 1 0 0 0 1 .5h8a1 1 0 0 0 1-.5L18 7'
    'M9 7V4.5h6V7"/>',
    "expand": '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>',
    "collapse": '<path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>',
    "search": '<circle cx="11" cy="11" r="6.5"/><path d="m20 20-4.2-4.2"/>',
    "people": '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c.8-3.5 3.4-5.5 6.5-5.5s5.7 2'
    ' 6.5 5.5M15.5 4.7a3.5 3.5 0 0 1 0 6.6M18 14.8c1.8.8 3 2.4 3.5 5.2"/>',
    "external": '<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1'
    ' 1-1h5"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "link": '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7'
    ' 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
    "unlink": '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7'
    ' 0l-3 3a4 4 0 0 0 5.7 5.7l1-1M4 4l16 16"/>',
    "lock": '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V8a4 4 0 0 1 8'
    ' 0v2.5"/>',
    "filter": '<path d="M4 5h16l-6 7.5V19l-4-2v-4.5z"/>',
    "back": '<path d="M15 5l-7 7 7 7"/>',
    "check": '<path d="m5 12.5 4.5 4.5L19 7.5"/>',
    "shield": '<path d="M12 3.5 19 6v5.5c0 4.3-3 7.6-7 9-4-1.4-7-4.7-7-9V6z"/><path d="m9 12'
    ' 2.2 2.2L15.5 10"/>',
    "dots": '<circle cx="5.5" cy="12" r="1.3"/><circle cx="12" cy="12" r="1.3"/>'
    '<circle cx="18.5" cy="12" r="1.3"/>',
    "close": '<path d="M6 6l12 12M18 6 6 18"/>',
}


def svg(paths: str, css_class: str = "icon") -> SafeString:
    """An inline SVG icon, hidden from screen readers: its control carries the label."""
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none"'
        ' stroke="currentColor" stroke-width="1.8" stroke-linecap="round"'
        ' stroke-linejoin="round">{}</svg>',
        css_class,
        mark_safe(paths),  # the constants of ICONS, never input
    )


class IconNode(template.Node):
    """`{% icon "name" "css classes" %}`: drawn when the template is compiled when both are
    quoted strings (nearly always), so a render only returns the text; else on each render."""

    def __init__(self, draw, args: list):
        self.draw = draw
        self.args = args
        self.drawn = None
        if all(not isinstance(arg.var, Variable) and not arg.filters for arg in args):
            self.drawn = draw(*(arg.var for arg in args))

    def render(self, context) -> str:
        if self.drawn is not None:
            return self.drawn
        return self.draw(*(arg.resolve(context) for arg in self.args))


def icon_tag(draw):
    """A tag of one or two arguments (the icon's name, its classes) drawn by `draw`."""

    def compile_tag(parser, token) -> IconNode:
        bits = token.split_contents()
        if len(bits) not in (2, 3):
            raise template.TemplateSyntaxError(f"{bits[0]}: имя значка и, возможно, классы")
        try:
            return IconNode(draw, [parser.compile_filter(bit) for bit in bits[1:]])
        except KeyError as error:
            raise template.TemplateSyntaxError(f"{bits[0]}: нет значка {error}") from error

    return compile_tag


def icon(name: str, css_class: str = "icon") -> SafeString:
    return svg(ICONS[name], css_class)


register.tag("icon", icon_tag(icon))


# --- links ----------------------------------------------------------------------------------
# A reverse costs 15–30 µs; a page with the menu has a dozen links and a «Чаты» card several
# more. Each name is reversed once per URLconf and script prefix; an id is put into its place.

_STAND_IN = 987_654_321_012  # an id no URL of the product contains: reversed, then replaced


@functools.lru_cache(maxsize=256)
def _reversed(name: str, urlconf: str, prefix: str, with_id: bool) -> tuple[str, str]:
    if not with_id:
        return reverse(name, urlconf=urlconf), ""
    before, _, after = reverse(name, urlconf=urlconf, args=[_STAND_IN]).partition(str(_STAND_IN))
    return before, after


@register.simple_tag
def url_of(name: str, pk: int | None = None) -> str:
    """`{% url name %}`, or `{% url name pk %}` for a URL whose one argument is an id."""
    return _url(name, pk, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


def _url(name: str, pk: int | None, urlconf: str, prefix: str) -> str:
    before, after = _reversed(name, urlconf, prefix, pk is not None)
    return before if pk is None else f"{before}{int(pk)}{after}"


# --- a long select ------------------------------------------------------------------------


@register.simple_tag
def options(choices) -> SafeString:
    """The `<option>`s of (value, label, chosen) triples: a college's dozens of groups in one
    join rather than a template loop. `escape` is Django's own, without its lazy wrapper."""
    return mark_safe(
        "\n".join(
            f'<option value="{escape(str(value))}"{" selected" if chosen else ""}>'
            f"{escape(str(label))}</option>"
            for value, label, chosen in choices
        )
    )


# --- a chat's card ----------------------------------------------------------------------------
# One card of the VK block (F6), drawn here rather than by a template, as Django's admin draws
# the rows of a change list (`items_for_result`): fifteen cards of some thirty tags and
# variables each cost the template engine more than the rest of «Чаты». The values come as
# selectors.chat_page gives them; every one is escaped by format_html.

_CARD = """<li class="chat-card" id="chat-{pk}">
  <a class="chat-card__avatar chat-card__avatar--{kind}" href="{url}" target="_blank" \
rel="noopener" tabindex="-1" aria-hidden="true">{initial}</a>
  <div class="chat-card__body">
    <a class="chat-card__title" href="{url}" target="_blank" rel="noopener">{title}</a>
    <div class="chat-card__meta">
      <span class="kind kind--{kind}">{kind_label}</span>{mandatory}
      {sync}
      <span class="chat-card__members" title="Участники с привязанным учебным профилем VK ID / \
все участники чата">{people}<span><span class="visually-hidden">Участников с VK ID: </span>\
<strong>{linked}</strong> / {members}</span></span>{context}
    </div>{call}
  </div>
  <div class="chat-card__actions">
    <a class="icon-btn" href="{url}" target="_blank" rel="noopener" title="Чат" \
aria-label="Чат">{chat_icon}</a>
    {call_button}
    <a class="icon-btn" href="{settings_url}" title="Редактировать настройки чата" \
aria-label="Редактировать настройки чата">{edit_icon}</a>
    {delete}
  </div>
</li>
"""
_MANDATORY = format_html(
    '\n      <span class="kind kind--mandatory" title="Создан автоматически по справочнику ОО; его'
    ' нельзя изменить или удалить">{}обязательный</span>',
    icon("lock", "icon icon--xs"),
)
_SYNC = '<span class="sync sync--{}">{}</span>'
# B1: the messenger's error is the OO admin's to read.
_SYNC_WITH_REASON = (
    '<span class="sync sync--{}" title="{}">{}<span class="visually-hidden">: {}</span></span>'
)
_CONTEXT = '\n      <span class="chat-card__context">{}</span>'
# F26: the chat's live published call: its icon and name lead to the call's page.
_CALL = """
    <p class="chat-card__call card-call">
      <a class="card-call__link" href="{url}" title="Перейти к онлайн-звонку">{icon}\
<span class="visually-hidden">Онлайн-звонок: </span><span class="card-call__title">{title}\
</span></a>
      <time class="card-call__when" datetime="{iso}">{day} в {time}</time>
    </p>"""
_CALL_BUTTON = (
    '<a class="icon-btn icon-btn--call" href="{}" title="Онлайн-звонок: {}"'
    ' aria-label="Онлайн-звонок: {}">{}</a>'
)
_NO_CALL_BUTTON = format_html(
    '<span class="icon-btn-wrap" title="В чате нет активного онлайн-звонка"><button type="button"'
    ' class="icon-btn" disabled aria-label="Онлайн-звонок">{}</button></span>',
    svg(ICONS["video"]),
)
_DELETE = (
    '<a class="icon-btn icon-btn--danger" href="{url}" title="Удалить чат" aria-label="Удалить'
    ' чат" hx-get="{url}" hx-target="body" hx-swap="beforeend">{icon}</a>'
)
_NO_DELETE = (
    '<span class="icon-btn-wrap" title="{}"><button type="button" class="icon-btn" disabled'
    ' aria-label="Удалить чат">{}</button></span>'
)
_MANDATORY_NOT_DELETED = format_html(_NO_DELETE, "Обязательный чат нельзя удалить", icon("trash"))
_NOT_YOURS_TO_DELETE = format_html(
    _NO_DELETE, "Удалить чат могут администратор ОО и администраторы чата", icon("trash")
)


def _escaped(value) -> str:
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))  # Django's own escape is html.escape, behind a lazy wrapper


def _html(template: str, /, *args, **kwargs) -> SafeString:
    """`format_html` without the lazy wrappers of its escaping, which cost a card more than
    everything else it does."""
    return mark_safe(
        template.format(
            *map(_escaped, args), **{name: _escaped(value) for name, value in kwargs.items()}
        )
    )


_ICON = {
    "people": icon("people", "icon icon--sm"),
    "chat": icon("chat"),
    "edit": icon("edit"),
    "trash": icon("trash"),
    "video": svg(ICONS["video"]),
    "video-sm": svg(ICONS["video"], "icon icon--sm"),
}


@register.simple_tag(takes_context=True)
def chat_card(context, chat) -> SafeString:
    """`{% chat_card chat %}`: the chat's card on «Чаты» (F6, F26, B1)."""
    roles = context.get("roles")
    where = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    sync = chat.sync
    if sync.reason and roles is not None and roles.is_admin:
        sync_html = _html(_SYNC_WITH_REASON, sync.code, sync.reason, sync.label, sync.reason)
    else:
        sync_html = _html(_SYNC, sync.code, sync.label)
    call_html = call_button = ""
    if chat.call_id:
        call_url = _url("calls:join", chat.call_id, *where)
        starts_at = template_localtime(chat.call_starts_at)
        call_html = _html(
            _CALL,
            url=call_url,
            icon=_ICON["video-sm"],
            title=chat.call_title,
            iso=date_filter(starts_at, "c"),
            day=date_filter(starts_at, "d.m.Y"),
            time=time_filter(starts_at, "H:i"),
        )
        call_button = _html(
            _CALL_BUTTON, call_url, chat.call_title, chat.call_title, _ICON["video"]
        )
    if chat.is_mandatory:
        delete = _MANDATORY_NOT_DELETED
    elif chat.may_manage:
        delete = _html(_DELETE, url=_url("epos_chats:delete", chat.pk, *where), icon=_ICON["trash"])
    else:
        delete = _NOT_YOURS_TO_DELETE
    return _html(
        _CARD,
        pk=chat.pk,
        kind=chat.kind,
        url=chat.messenger_url,
        initial=chat.initial,
        title=chat.title,
        kind_label=chat.kind_label,
        mandatory=_MANDATORY if chat.is_mandatory else "",
        sync=sync_html,
        people=_ICON["people"],
        linked=chat.linked_count,
        members=chat.member_count,
        context=_html(_CONTEXT, chat.context_label) if chat.context_label else "",
        call=call_html,
        chat_icon=_ICON["chat"],
        call_button=call_button or _NO_CALL_BUTTON,
        settings_url=_url("epos_chats:settings", chat.pk, *where),
        edit_icon=_ICON["edit"],
        delete=delete,
    )


# --- a row of the participant picker --------------------------------------------------------
# Fifteen rows of some twenty variables each: drawn here for the reason the cards are. The
# values come as picker.page_of gives them (a `picker.Row`).

_PICK = """<li id="pick-{pk}" class="pick{selected_class}">
    <input type="hidden" name="shown" value="{pk}">
    <span class="pick__check">
      <input type="checkbox" id="pick-{pk}-on" name="selected" value="{pk}"{checked} \
hx-post="{change_url}" hx-vals='{{"action": "select", "person": "{pk}"}}' \
hx-target="#pick-{pk}" hx-swap="outerHTML" hx-sync="closest form:queue all">
    </span>
    <label class="pick__name" for="pick-{pk}-on">{name}</label>
    <span class="pick__role">{role}</span>
    <label class="pick__admin" title="Администратор чата">
      <input type="checkbox" id="pick-{pk}-admin" name="admin" value="{pk}"{admin_checked} \
hx-post="{change_url}" hx-vals='{{"action": "admin", "person": "{pk}"}}' \
hx-target="#pick-{pk}" hx-swap="outerHTML" hx-sync="closest form:queue all">
      <span>Администратор чата<span class="visually-hidden">: {name}</span></span>
    </label>
  </li>
"""


def role_label(person) -> str:
    """«Преподаватель, Обучающийся, ИС-21, Родитель»: the person's roles in the college; a
    staff member without a position is «Сотрудник»."""
    roles = []
    if person.staff_position is not None:
        roles.append(person.staff_position or "Сотрудник")
    if person.student_group:
        roles.append(f"Обучающийся, {person.student_group}")
    if person.is_parent:
        roles.append("Родитель")
    return ", ".join(roles)


@register.simple_tag(takes_context=True)
def pick_row(context, person) -> SafeString:
    """`{% pick_row person %}`: one row of the participant picker (F15, F17) with its two
    ticks, each a small POST to the draft (`change_url`)."""
    return _html(
        _PICK,
        pk=person.pk,
        selected_class=" is-selected" if person.selected else "",
        checked=" checked" if person.selected else "",
        admin_checked=" checked" if person.selected_admin else "",
        change_url=context["change_url"],
        name=person.full_name,
        role=role_label(person),
    )


# --- the pager under a list -----------------------------------------------------------------
# Under «Чаты», the picker and a chat's members: drawn here once rather than as three copies of
# some forty tags each.

_PAGER = '<nav class="pager" aria-label="{label}">{prev}{links}{next}</nav>'
_PAGER_LINK = '<a class="pager__link" href="{url}"{htmx}{rel} aria-label="{aria}">{text}</a>'
_PAGER_OFF = '<span class="pager__link is-disabled" aria-hidden="true">{}</span>'
_PAGER_HERE = '<span class="pager__link is-current" aria-current="page">{}</span>'
_PAGER_GAP = mark_safe('<span class="pager__gap">…</span>')
_PAGER_HTMX = ' hx-get="{url}" hx-target="{target}" hx-swap="{swap}" hx-push-url="true"'


@register.simple_tag
def pager(links: dict, label: str, target: str = "", swap: str = "") -> SafeString:
    """`{% pager pager "Страницы списка чатов" "#chat-list" "outerHTML" %}`: «‹», the page
    numbers with gaps, «›», as views._pager gives them; with `target`, htmx fetches each page
    into it (`swap`) and pushes it to the history, and without JavaScript the links still go."""

    def link(url: str, text, aria: str, rel: str = "") -> SafeString:
        htmx = _html(_PAGER_HTMX, url=url, target=target, swap=swap) if target else ""
        rel = f' rel="{rel}"' if rel else ""
        return _html(_PAGER_LINK, url=url, htmx=htmx, rel=mark_safe(rel), aria=aria, text=text)

    numbers = []
    for number in links["links"]:
        if number.get("ellipsis"):
            numbers.append(_PAGER_GAP)
        elif number["current"]:
            numbers.append(_html(_PAGER_HERE, number["number"]))
        else:
            numbers.append(link(number["url"], number["number"], f"Страница {number['number']}"))
    prev_url, next_url = links["prev_url"], links["next_url"]
    return _html(
        _PAGER,
        label=label,
        prev=link(prev_url, "‹", "Предыдущая страница", "prev")
        if prev_url
        else _html(_PAGER_OFF, "‹"),
        links=mark_safe("".join(numbers)),
        next=link(next_url, "›", "Следующая страница", "next")
        if next_url
        else _html(_PAGER_OFF, "›"),
    )
