"""Pages of ЭПОС conversations (F30): the list, a new conversation, a conversation with its
sending form, older messages and the poll for new ones.

Every view: parse → `conversation_of` (404 for anyone who is not a member) → one service from
`messaging` → render. The poll is the hot path: see `messages_poll`.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from directory.models import Person
from epos_chats import messaging, picker
from epos_chats import messaging_selectors as selectors
from epos_chats.messaging import MessagingError

LIST_SHOWN = 50
_POLL_SIGNER = signing.Signer(salt="epos_chats.messages_poll")


def _int(value, default: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def poll_token(chat_id: int, person_id: int) -> str:
    """Issued with the conversation page: lets the poll say «nothing new» without asking the
    database whether the person is a member (checked on the page and on every real answer)."""
    return _POLL_SIGNER.signature(f"{chat_id}:{person_id}")


def _poll_url(chat_id: int, person_id: int, after: int) -> str:
    url = reverse("epos_chats:messages_poll", args=[chat_id])
    return f"{url}?after={after}&t={poll_token(chat_id, person_id)}"


@login_required
def conversations(request):
    """«Мои сообщения ЭПОС»: every conversation of the person, also after the ЭПОС block is
    hidden (F30, point 5): nothing is deleted, it is only read."""
    organization = request.organization
    chats, more = ([], False)
    if organization is not None:
        chats, more = selectors.conversations_of(request.user, organization, limit=LIST_SHOWN)
    return render(
        request,
        "epos_chats/messaging/list.html",
        {
            "chats": chats,
            "more": more,
            "epos_open": messaging.epos_open(organization),
        },
    )


def _recipient_page(request, *, exclude_chat=None):
    """The searchable list of people of the college (FIO, role, group) for a new
    conversation or for adding people; students and parents see staff only."""
    organization = request.organization
    roles = request.roles
    params = request.GET.copy()
    if roles.staff is None:
        params["tab"] = "staff"
    query = picker.PickerQuery.from_params(params)
    if query.tab == "selected":
        query = picker.PickerQuery(q=query.q)
    options = picker.filter_options(organization)
    query = picker.consistent(query, options)
    others = picker.others_than(request.user.pk, exclude_chat.pk if exclude_chat else None)
    page = picker.page_of(organization, query, None, request.GET.get("page"), narrowed=others)
    tabs = {k: v for k, v in picker.TABS.items() if k != "selected"}
    if roles.staff is None:
        tabs = {"staff": picker.TABS["staff"]}
    return {
        "query": query,
        "options": options,
        "groups": options.groups_of(query.course),
        "page": page,
        "tabs": tabs,
        "filters": picker.FILTERS[query.tab],
        "page_query": "&".join(f"{k}={v}" for k, v in query.pairs()),
    }


@login_required
def epos_create(request):
    """«Новый чат» → «ЭПОС»: write to one person, or (staff) start a group conversation."""
    organization = request.organization
    if organization is None:
        raise Http404("Нет текущей организации.")
    if not messaging.epos_open(organization):
        messages.info(request, "Чаты ЭПОС скрыты: новые переписки начать нельзя.")
        return redirect("epos_chats:conversations")
    errors = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "group":
                started = messaging.start_group(
                    actor=request.user,
                    roles=request.roles,
                    organization=organization,
                    title=request.POST.get("title", ""),
                    members=[_int(pk) for pk in request.POST.getlist("member") if _int(pk)],
                    request_key=_uuid(request.POST.get("request_key")),
                )
            else:
                other = Person.objects.filter(pk=_int(request.POST.get("person"))).first()
                if other is None:
                    raise MessagingError(messaging.NOT_IN_COLLEGE)
                started = messaging.start_direct(
                    actor=request.user,
                    roles=request.roles,
                    organization=organization,
                    other=other,
                )
        except MessagingError as error:
            errors.append(str(error))
        else:
            return redirect("epos_chats:conversation", started.chat.pk)
    context = _recipient_page(request)
    context.update(
        errors=errors,
        may_group=messaging.may_start_groups(request.roles),
        request_key=uuid.uuid4(),
        title=request.POST.get("title", ""),
    )
    return render(request, "epos_chats/messaging/new.html", context, status=400 if errors else 200)


def _conversation_context(request, chat, page):
    last_id = page.last_id or 0
    return {
        "chat": chat,
        "page": page,
        "members": selectors.members_of(chat) if not chat.is_direct else [],
        "poll_url": _poll_url(chat.pk, request.user.pk, last_id),
        "epos_open": messaging.epos_open(chat.organization),
        "client_token": uuid.uuid4(),
        "is_creator": chat.created_by_id == request.user.pk,
    }


@login_required
def conversation(request, chat_id: int):
    """The conversation: its latest messages (read from now on), the form to answer."""
    chat = selectors.conversation_of(request.user, request.organization, chat_id)
    if request.method == "POST":
        return _send(request, chat)
    page = selectors.messages_before(chat)
    messaging.mark_read(person=request.user, chat=chat, up_to=page.last_id)
    return render(
        request,
        "epos_chats/messaging/conversation.html",
        _conversation_context(request, chat, page),
    )


def _send(request, chat):
    text = request.POST.get("text", "")
    error = ""
    try:
        messaging.send_message(
            actor=request.user,
            chat=chat,
            text=text,
            client_token=_uuid(request.POST.get("client_token")),
        )
    except MessagingError as failure:
        error = str(failure)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("epos_chats:conversation", chat.pk)
    context = {
        "chat": chat,
        "error": error,
        "text": text if error else "",
        "client_token": request.POST.get("client_token") if error else uuid.uuid4(),
        "epos_open": True,
    }
    response = render(request, "epos_chats/messaging/send_form.html", context)
    if not error:
        # The poller fetches the new message at once: one place appends messages.
        trigger_client_event(response, "epos:sent")
    return response


@require_GET
@login_required
def messages_older(request, chat_id: int):
    """«Показать более ранние»: the page of messages before `before`."""
    chat = selectors.conversation_of(request.user, request.organization, chat_id)
    page = selectors.messages_before(chat, _int(request.GET.get("before")) or None)
    return render(request, "epos_chats/messaging/older.html", {"chat": chat, "page": page})


@require_GET
@login_required
def messages_poll(request, chat_id: int):
    """New messages after `after`, every few seconds.

    When nothing changed it answers 204 (htmx leaves the page alone) after one look at the
    chat's last message id — from the cache, or one indexed query — and no membership query:
    the signed `t` of the page stands for it. A real answer checks membership in full.
    """
    after = _int(request.GET.get("after"))
    token = request.GET.get("t", "")
    if not constant_time_compare(token, poll_token(chat_id, request.user.pk)):
        raise Http404("Переписка не найдена.")
    if selectors.last_message_id(chat_id) <= after:
        return HttpResponse(status=204)
    chat = selectors.conversation_of(request.user, request.organization, chat_id)
    new = selectors.messages_after(chat, after)
    if not new:
        return HttpResponse(status=204)
    messaging.mark_read(person=request.user, chat=chat, up_to=new[-1].pk)
    return render(
        request,
        "epos_chats/messaging/poll.html",
        {
            "chat": chat,
            "messages_new": new,
            "poll_url": _poll_url(chat.pk, request.user.pk, new[-1].pk),
        },
    )


@require_POST
@login_required
def conversation_leave(request, chat_id: int):
    chat = selectors.conversation_of(request.user, request.organization, chat_id)
    try:
        messaging.leave_group(actor=request.user, chat=chat)
    except MessagingError as error:
        messages.error(request, str(error))
        return redirect("epos_chats:conversation", chat.pk)
    messages.success(request, f"Вы вышли из беседы «{chat.title}».")
    return redirect("epos_chats:conversations")


@login_required
def conversation_add(request, chat_id: int):
    """The creator adds people to a group conversation, chosen from the same list."""
    chat = selectors.conversation_of(request.user, request.organization, chat_id)
    if chat.is_direct or chat.created_by_id != request.user.pk:
        raise Http404("Добавлять участников может только создатель беседы.")
    errors = []
    if request.method == "POST":
        try:
            added = messaging.add_members(
                actor=request.user,
                chat=chat,
                people=[_int(pk) for pk in request.POST.getlist("member") if _int(pk)],
            )
        except MessagingError as error:
            errors.append(str(error))
        else:
            messages.success(request, f"Добавлено участников: {added}.")
            return redirect("epos_chats:conversation", chat.pk)
    context = _recipient_page(request, exclude_chat=chat)
    context.update(chat=chat, errors=errors)
    return render(request, "epos_chats/messaging/add.html", context, status=400 if errors else 200)
