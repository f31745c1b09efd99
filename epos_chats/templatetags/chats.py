"""Template helpers of the chats pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from epos_chats import selectors

register = template.Library()


@register.simple_tag
def messenger_url(chat=None) -> str:
    return selectors.messenger_url(chat)


@register.simple_tag
def sync_state(chat) -> selectors.SyncState:
    """B1: `{% sync_state chat as state %}` → state.code / state.label / state.reason."""
    return selectors.sync_state(chat)


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


@register.simple_tag
def icon(name: str, css_class: str = "icon") -> str:
    """An inline SVG icon, hidden from screen readers: its control carries the label."""
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none"'
        ' stroke="currentColor" stroke-width="1.8" stroke-linecap="round"'
        ' stroke-linejoin="round">{}</svg>',
        css_class,
        mark_safe(ICONS[name]),  # the constants above, never input
    )
