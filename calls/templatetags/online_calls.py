"""Template helpers of online calls: the list on a chat's settings page and its icons."""

from django import template
from django.utils.safestring import SafeString

from calls import selectors
from calls.access import can_manage_calls
from calls.models import OnlineCall
from epos_chats.models import Chat
from epos_chats.templatetags.chats import ICONS as CHAT_ICONS
from epos_chats.templatetags.chats import icon_tag, svg

register = template.Library()


@register.simple_tag(takes_context=True)
def calls_of_chat(context, chat: Chat) -> list[OnlineCall] | None:
    """F19: the chat's live calls for whoever may manage them, None for everyone else (the
    members meet a published call on the chat's card)."""
    request = context.get("request")
    if request is None or chat.platform != Chat.Platform.VK or chat.is_deleted:
        return None
    if not can_manage_calls(request.user, request.roles, chat):
        return None
    return selectors.chat_calls(chat)


# The actions' icons on the 24×24 grid of the chats' icons.
ICONS = {
    **CHAT_ICONS,
    "publish": '<path d="M4 12.5 20 5l-4 15-4.5-5.5z"/><path d="m11.5 14.5 8.5-9.5"/>',
    "finish": '<rect x="4.5" y="4.5" width="15" height="15" rx="3"/>'
    '<rect x="9.5" y="9.5" width="5" height="5" rx=".5"/>',
    "calendar": '<rect x="4" y="5.5" width="16" height="14.5" rx="2"/><path d="M4 10h16M8.5 3.5v4'
    'M15.5 3.5v4"/>',
    "clock": '<circle cx="12" cy="12" r="8"/><path d="M12 7.5V12l3 2"/>',
    "close": '<path d="M6 6l12 12M18 6 6 18"/>',
    "warning": '<path d="M12 4 2.8 19.5h18.4z"/><path d="M12 10v4.5M12 17.2v.1"/>',
    "user": '<circle cx="12" cy="8.5" r="3.5"/><path d="M5 20c.8-3.6 3.6-5.5 7-5.5s6.2 1.9 7'
    ' 5.5"/>',
}

ACTION_ICONS = {
    OnlineCall.Action.EDIT: "edit",
    OnlineCall.Action.PUBLISH: "publish",
    OnlineCall.Action.FINISH: "finish",
    OnlineCall.Action.DELETE: "trash",
}


def call_icon(name: str, css_class: str = "icon") -> SafeString:
    """An action's icon (`OnlineCall.Action`) or any of ICONS, drawn like the chats' icons."""
    return svg(ICONS[ACTION_ICONS.get(name, name)], css_class)


register.tag("call_icon", icon_tag(call_icon))


@register.filter
def action_label(action: str) -> str:
    """«Редактировать», «Опубликовать», «Завершить», «Удалить»."""
    return OnlineCall.Action(action).label
