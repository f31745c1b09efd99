"""Editing and deleting a chat (F17, F18), from its settings page and the «Чаты» list.

Every endpoint that changes something is POST-only and goes through `managed_chat`: 404 for a
chat of another college or a deleted one, 403 for a chat the person may not manage —
mandatory chats included (F12) — and then one service, which checks all of it again under a
row lock. A refusal a service still finds (`MandatoryChatLocked`) is a 403 too; any other
`ChatError` is a message on the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from epos_chats import access, picker, services
from epos_chats.dialogs import render_dialog
from epos_chats.forms import RenameForm
from epos_chats.models import Chat, ChatMember
from epos_chats.picker_views import render_picker_page
from epos_chats.services import ChatError, MandatoryChatLocked

MAY_NOT_MANAGE = "Изменять и удалять чат могут администратор ОО и администраторы этого чата."
MANDATORY = (
    "Обязательный чат: состав, название и администраторов определяет справочник ОО. "
    "Изменить или удалить его нельзя."
)
DISCIPLINE_NAME = "Название чата «Дисциплина» задаётся группой и дисциплиной: его не меняют."


def managed_chat(request: HttpRequest, chat_id: int) -> Chat:
    """The chat the person may edit or delete, or 404/403 — the one rights check of F17/F18."""
    chat = access.chat_for_view(request, chat_id)
    if chat.is_mandatory:
        raise PermissionDenied(MANDATORY)
    if not access.may_manage(chat, request.roles, is_chat_admin=chat.is_chat_admin):
        raise PermissionDenied(MAY_NOT_MANAGE)
    return chat


def _still_manages(chat: Chat, actor, roles) -> bool:
    fresh = Chat.objects.filter(pk=chat.pk).first()
    if fresh is None:
        return False
    is_chat_admin = ChatMember.objects.filter(chat=fresh, person=actor, is_admin=True).exists()
    return access.may_manage(fresh, roles, is_chat_admin=is_chat_admin)


def guarded(service, *, actor, roles, chat: Chat, **kwargs) -> str:
    """Run one editing service: "" when it is done, else the message of a change the rules
    refuse. A refusal of the right itself is a 403 — a locked mandatory chat, or a right lost
    between the page's check and the service's (an admin demoted in another tab)."""
    try:
        service(actor=actor, roles=roles, chat=chat, **kwargs)
    except MandatoryChatLocked as error:
        raise PermissionDenied(str(error)) from error
    except ChatError as error:
        if not _still_manages(chat, actor, roles):
            raise PermissionDenied(str(error)) from error
        return str(error)
    return ""


def _settings_url(chat: Chat, page=None) -> str:
    url = reverse("epos_chats:settings", args=[chat.pk])
    try:
        number = int(page or 1)
    except (TypeError, ValueError):
        number = 1
    return f"{url}?{urlencode({'page': number})}" if number > 1 else url


def _back_to(request: HttpRequest, chat: Chat, page=None) -> str:
    """The settings page after a change — unless the person has just left the chat they no
    longer see: then «Чаты»."""
    if request.roles.is_admin or ChatMember.objects.filter(chat=chat, person=request.user).exists():
        return _settings_url(chat, page)
    return reverse("epos_chats:index")


def _go(request: HttpRequest, url: str):
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _member(chat: Chat, person_id: int) -> ChatMember:
    member = ChatMember.objects.filter(chat=chat, person_id=person_id).select_related("person")
    member = member.first()
    if member is None:
        raise Http404("Этого человека нет в чате.")
    return member


@login_required
def rename(request, chat_id: int):
    """F17 «Переименовать»; a «Дисциплина» chat keeps the name its group-by-discipline gives."""
    chat = managed_chat(request, chat_id)
    if chat.kind == Chat.Kind.DISCIPLINE:
        raise PermissionDenied(DISCIPLINE_NAME)
    settings_url = _settings_url(chat)
    bound = request.POST if request.method == "POST" else None  # an empty POST is still a POST
    form = RenameForm(bound, initial={"title": chat.title, "seen": chat.title})
    error = ""
    if request.method == "POST":
        form.is_valid()
        title, seen = form.cleaned_data.get("title", ""), form.cleaned_data.get("seen")
        if seen is not None and seen != chat.title:
            # Renamed by someone else since the form was opened: show it, keep what was typed.
            error = (
                f"Пока вы вводили название, чат переименовали в «{chat.title}». "
                "Проверьте название и сохраните ещё раз."
            )
        else:
            error = guarded(
                services.chat_rename,
                actor=request.user,
                roles=request.roles,
                chat=chat,
                title=title,
            )
            if not error:
                messages.success(request, f"Чат переименован: «{' '.join(title.split())}».")
                return _go(request, settings_url)
        form = RenameForm(initial={"title": title, "seen": chat.title})
    return render_dialog(
        request,
        "epos_chats/dialogs/rename.html",
        {
            "dialog_title": "Переименовать чат",
            "back_url": settings_url,
            "back_label": chat.title,
            "chat": chat,
            "form": form,
            "error": error,
        },
    )


@login_required
def members(request, chat_id: int):
    """F17 «Редактировать состав участников»: the picker on a draft opened from the chat's
    members; «Сохранить» makes the chat's membership exactly the draft."""
    chat = managed_chat(request, chat_id)
    params = request.POST if request.method == "POST" else request.GET
    draft = picker.draft_of(
        owner=request.user, organization=request.organization, draft_id=params.get("draft")
    )
    if draft is not None and draft.chat_id != chat.pk:
        draft = None
    if request.method != "POST" and draft is None:
        draft = picker.draft_open(owner=request.user, organization=request.organization, chat=chat)
        url = reverse("epos_chats:members", args=[chat.pk])
        return redirect(f"{url}?{urlencode({'draft': draft.pk})}")
    if draft is None:
        raise Http404("Выбор участников не найден: откройте редактирование состава заново.")

    error = ""
    seen = chat.changed_at.isoformat()
    if request.method == "POST":
        if request.POST.get("seen") != seen:
            # Changed by someone else since the page was opened: the selection stays as it is,
            # the person looks again and saves once more.
            error = (
                "Пока вы редактировали состав, чат изменил другой администратор. "
                "Проверьте выбранных участников и нажмите «Сохранить» ещё раз."
            )
        else:
            error = guarded(
                services.chat_members_set,
                actor=request.user,
                roles=request.roles,
                chat=chat,
                members=picker.draft_members(draft),
            )
            if not error:
                messages.success(request, "Состав участников сохранён.")
                return redirect(_back_to(request, chat))
    context = {"chat": chat, "error": error, "seen": seen}
    return render_picker_page(request, draft, "epos_chats/members.html", context)


@login_required
def member_remove(request, chat_id: int, person_id: int):
    """F17: the row's «…» → «Удалить из чата», after «Удалить <ФИО> из чата?»."""
    chat = managed_chat(request, chat_id)
    member = _member(chat, person_id)
    back = _settings_url(chat, request.POST.get("page") or request.GET.get("page"))
    name = member.person.full_name
    if request.method == "POST":
        error = guarded(
            services.chat_member_remove,
            actor=request.user,
            roles=request.roles,
            chat=chat,
            person_id=person_id,
        )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{name} удалён(а) из чата «{chat.title}».")
        return _go(request, _back_to(request, chat, request.POST.get("page")))
    return render_dialog(
        request,
        "epos_chats/dialogs/confirm.html",
        {
            "dialog_title": "Удалить из чата",
            "back_url": back,
            "back_label": chat.title,
            "question": f"Удалить {name} из чата?",
            "detail": f"{name} больше не будет участником чата «{chat.title}» "
            "в журнале и в VK Мессенджер.",
            "action_url": reverse("epos_chats:member_remove", args=[chat.pk, person_id]),
            "page": request.GET.get("page", ""),
        },
    )


@login_required
@require_POST
def member_admin(request, chat_id: int, person_id: int):
    """F17: grant or revoke «Администратор чата»; the last admin stays (the service's rule)."""
    chat = managed_chat(request, chat_id)
    member = _member(chat, person_id)
    is_admin = request.POST.get("is_admin") == "1"
    error = guarded(
        services.chat_admin_set,
        actor=request.user,
        roles=request.roles,
        chat=chat,
        person_id=person_id,
        is_admin=is_admin,
    )
    name = member.person.full_name
    if error:
        messages.error(request, error)
    elif is_admin:
        messages.success(request, f"{name} — администратор чата.")
    else:
        messages.success(request, f"{name} больше не администратор чата.")
    return _go(request, _settings_url(chat, request.POST.get("page")))


def _deleted_before(request: HttpRequest, chat_id: int) -> Chat | None:
    """A chat of the college the person could manage and that is already deleted: a second
    «Да, удалить» (another tab, a double click) says so instead of a 404."""
    if request.organization is None:
        return None
    chat = (
        Chat.objects.filter(pk=chat_id, organization=request.organization)
        .exclude(deleted_at=None)
        .annotate(is_chat_admin=access.membership_of(request.user, admin=True))
        .first()
    )
    if chat is None or chat.is_mandatory:
        return None
    return chat if (request.roles.is_admin or chat.is_chat_admin) else None


@login_required
def delete(request, chat_id: int):
    """F18 «Удалить чат»: «Да, удалить» / «Отменить»; the chat leaves the list, its members
    leave it in the messenger."""
    if request.method == "POST" and (gone := _deleted_before(request, chat_id)):
        messages.info(request, f"Чат «{gone.title}» уже удалён.")
        return _go(request, reverse("epos_chats:index"))
    chat = managed_chat(request, chat_id)
    if request.method == "POST":
        error = guarded(services.chat_delete, actor=request.user, roles=request.roles, chat=chat)
        if error:
            messages.error(request, error)
            return _go(request, _settings_url(chat))
        messages.success(request, f"Чат «{chat.title}» удалён.")
        return _go(request, reverse("epos_chats:index"))
    back = request.GET.get("back")
    back_url = _settings_url(chat) if back == "settings" else reverse("epos_chats:index")
    return render_dialog(
        request,
        "epos_chats/dialogs/confirm.html",
        {
            "dialog_title": "Удалить чат",
            "back_url": back_url,
            "back_label": chat.title if back == "settings" else "Чаты",
            "question": f"Удалить чат «{chat.title}»?",
            "detail": "Чат пропадёт со страницы «Чаты», а все его участники будут удалены из "
            "него в VK Мессенджер.",
            "action_url": reverse("epos_chats:delete", args=[chat.pk]),
        },
    )
