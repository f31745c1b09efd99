"""The «Чаты» page's query string: search, filters, sort and the expanded block.

A bad value never fails the page (a link shared from another college, an edited URL):
that one parameter falls back to its default and the rest still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django import forms

from directory.models import Group
from epos_chats.models import Chat
from epos_chats.selectors import SORT_NAME, SORTS, ChatQuery

SEARCH_MAX_LENGTH = 100
EXPAND_VK, EXPAND_EPOS = "vk", "epos"


@dataclass(frozen=True)
class ChatListParams:
    """The page's state as it lives in the URL."""

    query: ChatQuery = field(default_factory=ChatQuery)
    expand: str = ""

    def urlencode(self, *, page: int | None = None, **changes) -> str:
        """`?…` for this state with `changes` (fields of the query or `expand`), defaults
        left out so links stay short; "" when nothing is left."""
        expand = changes.pop("expand", self.expand)
        query = replace(self.query, **changes)
        pairs = [
            ("q", query.q),
            ("kind", query.kind),
            ("course", query.course or ""),
            ("group", query.group or ""),
            ("call", "1" if query.with_call else ""),
            ("sort", "" if query.sort == SORT_NAME else query.sort),
            ("expand", expand),
            ("page", page if page and page > 1 else ""),
        ]
        encoded = urlencode([(key, value) for key, value in pairs if value])
        return f"?{encoded}" if encoded else "?"


class ChatListForm(forms.Form):
    q = forms.CharField(required=False, strip=True)
    kind = forms.ChoiceField(required=False, choices=Chat.Kind.choices)
    course = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    group = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    call = forms.BooleanField(required=False)
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))
    expand = forms.ChoiceField(
        required=False, choices=[(EXPAND_VK, "VK Мессенджер"), (EXPAND_EPOS, "ЭПОС")]
    )

    def __init__(self, data, *, groups: list[Group]):
        super().__init__(data)
        self.groups = groups
        self.courses = sorted({group.course for group in groups})
        self.fields["course"].choices = [(course, f"{course} курс") for course in self.courses]
        self.fields["group"].choices = [(group.pk, group.name) for group in groups]
        self.is_valid()  # fills cleaned_data with the fields that are valid, drops the rest

    def clean(self):
        cleaned = super().clean()
        course, group_id = cleaned.get("course"), cleaned.get("group")
        if course and group_id:
            group = next(group for group in self.groups if group.pk == group_id)
            if group.course != course:
                # The group select offers only the chosen course's groups.
                cleaned["group"] = None
        return cleaned

    @property
    def params(self) -> ChatListParams:
        value = self.cleaned_data.get
        query = ChatQuery(
            q=(value("q") or "")[:SEARCH_MAX_LENGTH],
            kind=value("kind") or "",
            course=value("course"),
            group=value("group"),
            with_call=bool(value("call")),
            sort=value("sort") or SORT_NAME,
        )
        return ChatListParams(query=query, expand=value("expand") or "")

    @property
    def group_choices(self) -> list[Group]:
        """The groups the group select offers: those of the chosen course, if any."""
        course = self.cleaned_data.get("course")
        return [group for group in self.groups if not course or group.course == course]


# --- creating and editing chats (F14–F17) ---------------------------------------------------
# The rules (a name's length, who may be a member) live in the services; these forms only
# read the fields, so a service's message is the one the person sees.


class NewChatForm(forms.Form):
    """F14: «+ Новый чат» — where and what kind."""

    platform = forms.ChoiceField(required=False, choices=Chat.Platform.choices)
    kind = forms.ChoiceField(
        required=False,
        choices=[(Chat.Kind.CUSTOM, "Произвольный чат"), (Chat.Kind.DISCIPLINE, "Дисциплина")],
    )


class CustomChatForm(forms.Form):
    """F15: the name of a «Произвольный чат»; its members are in the draft."""

    title = forms.CharField(required=False, strip=True)
    add_short_name = forms.BooleanField(required=False)
    # One key per opened page: a second «Создать чат» with it returns the first chat.
    request_key = forms.UUIDField(required=False)


class DisciplineChatForm(forms.Form):
    """F16: one group-by-discipline."""

    teaching = forms.IntegerField(required=False, min_value=1)
    request_key = forms.UUIDField(required=False)


class RenameForm(forms.Form):
    title = forms.CharField(required=False, strip=True)
    # The name the person saw when they opened the form: a rename made meanwhile by someone
    # else is reported instead of silently overwritten.
    seen = forms.CharField(required=False)
