"""«+ Новый чат» (F14), «Произвольный чат» (F15) and «Дисциплина» (F16).

Who may create is decided once, in `access.may_create_chats`: an OO admin and a teacher with a
group-by-discipline; anyone else gets 403, whatever the request. The services check it again.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from epos_chats import access, editing, picker, selectors, services
from epos_chats.dialogs import render_dialog
from epos_chats.forms import CustomChatForm, DisciplineChatForm, NewChatForm
from epos_chats.messaging import epos_open
from epos_chats.models import Chat
from epos_chats.picker_views import render_picker_page
from epos_chats.services import ChatError

NO_RIGHT = (
    "Создавать чаты могут администратор ОО и преподаватели, за которыми закреплена хотя бы "
    "одна группа по дисциплине."
)
NO_MEMBERS = "Выберите хотя бы одного участника чата."
NEED_LINK = (
    "Создание чатов VK Мессенджер доступно после привязки учебного профиля VK ID: "
    "привяжите его на странице «Чаты»."
)


def epos_create_url() -> str:
    """The ЭПОС chat flow is an issue of its own: offered only once its page exists."""
    try:
        return reverse("epos_chats:epos_create")
    except NoReverseMatch:
        return ""


def _creator_or_403(request: HttpRequest):
    """None when the person may create here; a redirect to «Чаты» while their VK ID is not
    linked (F8: the block's features come after the link)."""
    if request.organization is None or not access.may_create_chats(request.roles):
        raise PermissionDenied(NO_RIGHT)
    if selectors.vk_link_of(request.user) is None:
        messages.info(request, NEED_LINK)
        return _go(request, reverse("epos_chats:index"))
    return None


def _go(request: HttpRequest, url: str):
    """A redirect that also leaves a modal: htmx gets it as a full navigation."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _created(request: HttpRequest, created: services.Created):
    chat = created.chat
    if created.created:
        messages.success(request, f"Чат «{chat.title}» создан.")
    else:
        messages.info(request, f"Чат уже создан: «{chat.title}».")
    # The newest chat first, so it is on the first page whatever the sort was.
    return redirect(f"{reverse('epos_chats:index')}?sort=changed#chat-{chat.pk}")


@login_required
def new_chat(request):
    """F14: the «Новый чат» dialog — ЭПОС or VK Мессенджер, and the type in a drop-down."""
    if (refused := _creator_or_403(request)) is not None:
        return refused
    form = NewChatForm(request.GET)
    form.is_valid()
    platform, kind = form.cleaned_data.get("platform"), form.cleaned_data.get("kind")
    # F4/F30: from EPOS_CHATS_HIDDEN_FROM the «ЭПОС» choice is gone with the block.
    epos_url = epos_create_url() if epos_open(request.organization) else ""
    if platform == Chat.Platform.EPOS and epos_url:
        return _go(request, epos_url)
    if platform == Chat.Platform.VK:
        name = "create_discipline" if kind == Chat.Kind.DISCIPLINE else "create_custom"
        return _go(request, reverse(f"epos_chats:{name}"))
    return render_dialog(
        request,
        "epos_chats/dialogs/new_chat.html",
        {
            "dialog_title": "Новый чат",
            "back_url": reverse("epos_chats:index"),
            "back_label": "Чаты",
            "epos_url": epos_url,
            "kind": kind or Chat.Kind.CUSTOM,
        },
    )


def _title_context(organization, form: CustomChatForm | None) -> dict:
    if form is None or not form.is_bound:
        title, add_short_name = "", True
    else:
        title = form.cleaned_data.get("title", "")
        add_short_name = form.cleaned_data.get("add_short_name", False)
    return {
        "title": title,
        "add_short_name": add_short_name,
        "short_name": organization.short_name,
        "final_title": editing.final_title(title, organization, add_short_name=add_short_name),
    }


@login_required
def title_preview(request):
    """F15: the name as it will be saved, while it is typed."""
    if request.organization is None or not access.may_create_chats(request.roles):
        raise PermissionDenied(NO_RIGHT)
    form = CustomChatForm(request.GET)
    form.is_valid()
    return render(
        request,
        "epos_chats/create_custom.html#title-preview",
        _title_context(request.organization, form),
    )


@login_required
def create_custom(request):
    """F15: the page of a new «Произвольный чат»: its name, the picker, «Создать чат»."""
    if (refused := _creator_or_403(request)) is not None:
        return refused
    organization = request.organization
    params = request.POST if request.method == "POST" else request.GET
    draft = picker.draft_of(
        owner=request.user, organization=organization, draft_id=params.get("draft")
    )
    if draft is not None and draft.chat_id is not None:
        draft = None  # a draft of a chat's members is not a new chat's
    if request.method != "POST" and draft is None:
        # A fresh selection for each opening; its id travels in the address from now on.
        draft = picker.draft_open(owner=request.user, organization=organization)
        return redirect(f"{reverse('epos_chats:create_custom')}?{urlencode({'draft': draft.pk})}")
    if draft is None:
        raise Http404("Выбор участников не найден: откройте страницу создания чата заново.")

    form = None
    if request.method == "POST":
        form = CustomChatForm(request.POST)
        form.is_valid()
        title = editing.final_title(
            form.cleaned_data.get("title", ""),
            organization,
            add_short_name=form.cleaned_data.get("add_short_name", False),
        )
        members = picker.draft_members(draft)
        try:
            if not members:
                # The service would make a chat of the creator alone; nobody ticked means
                # the person has not chosen yet.
                raise ChatError(NO_MEMBERS)
            created = services.chat_create_custom(
                actor=request.user,
                roles=request.roles,
                organization=organization,
                title=title,
                members=members,
                request_key=form.cleaned_data.get("request_key"),
                platform=Chat.Platform.VK,
            )
        except ChatError as error:
            form.add_error(None, str(error))
        else:
            return _created(request, created)

    key = form.cleaned_data.get("request_key") if form is not None else None
    context = {
        "form": form,
        "request_key": key or uuid.uuid4(),
        "kind": Chat.Kind.CUSTOM,
        **_title_context(organization, form),
    }
    return render_picker_page(request, draft, "epos_chats/create_custom.html", context)


@login_required
def create_discipline(request):
    """F16: a chat of one group-by-discipline; its name and members follow from it."""
    if (refused := _creator_or_403(request)) is not None:
        return refused
    organization = request.organization
    options = list(editing.teaching_options(organization, request.roles))
    form = DisciplineChatForm(request.POST if request.method == "POST" else request.GET)
    form.is_valid()
    teaching_id = form.cleaned_data.get("teaching")
    teaching = None
    if teaching_id:
        # A group-by-discipline of another college does not exist here at all.
        teaching = (
            organization.teachings.select_related("group", "discipline")
            .filter(pk=teaching_id)
            .first()
        )
        if teaching is None:
            raise Http404("Такой группы по дисциплине нет в вашей организации.")

    errors = []
    if request.method == "POST":
        if teaching is None:
            errors.append("Выберите группу по дисциплине.")
        else:
            try:
                created = services.chat_create_discipline(
                    actor=request.user,
                    roles=request.roles,
                    organization=organization,
                    teaching=teaching,
                    request_key=form.cleaned_data.get("request_key"),
                )
            except ChatError as error:
                errors.append(str(error))
            else:
                return _created(request, created)

    offered = teaching is not None and any(option.pk == teaching.pk for option in options)
    context = {
        "kind": Chat.Kind.DISCIPLINE,
        "options": options,
        "chosen": teaching.pk if teaching else None,
        "preview": editing.discipline_preview(teaching) if offered else None,
        "errors": errors,
        "request_key": form.cleaned_data.get("request_key") or uuid.uuid4(),
    }
    if request.htmx and request.htmx.target == "discipline-preview":
        return render(request, "epos_chats/create_discipline.html#preview", context)
    response = render(request, "epos_chats/create_discipline.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
