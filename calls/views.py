"""Online calls of a chat (F19–F26): the list on the chat's settings page, the create/edit
form, the confirmations of publish/finish/delete, and the call's page for its members.

Each page works twice: as an HTMX dialog over the chat's settings, and as a page of its own
when JavaScript is off. Changes go through `calls.services` on POST only.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import reswap, trigger_client_event

from calls import access, selectors, services
from calls.forms import CallForm
from calls.models import OnlineCall
from calls.services import CallError

Action = OnlineCall.Action

FORM = "calls/call_form.html"
CONFIRM = "calls/call_confirm.html"
LIST = "calls/chat_calls.html"

# The events the chat's settings page listens to (calls.js and the list's hx-trigger).
CHANGED, CLOSE = "calls-changed", "calls-dialog-close"


def _settings_url(chat) -> str:
    return reverse("epos_chats:settings", args=[chat.pk]) + "#chat-calls"


def _in_dialog(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _done(request, chat):
    """After a change: in the dialog, close it and let the list reload itself (with the
    message); on a page of its own, back to the chat's settings."""
    if _in_dialog(request):
        response = reswap(HttpResponse(), "none")
        trigger_client_event(response, CLOSE)
        trigger_client_event(response, CHANGED)
        return response
    return redirect(_settings_url(chat))


# The list --------------------------------------------------------------------------------------


@login_required
@require_safe
def chat_calls(request, chat_id: int):
    """The list of the chat's calls alone: what the settings page reloads after a change."""
    chat = access.chat_for_calls(request.user, request.roles, request.organization, chat_id)
    context = {"chat": chat, "calls": selectors.chat_calls(chat), "fragment": True}
    return render(request, LIST + "#calls-section", context)


# Create and edit (F20, F21) -------------------------------------------------------------------


def _form_page(request, form: CallForm, *, chat, call=None):
    if call is None:
        url = reverse("calls:create", args=[chat.pk])
    else:
        url = reverse("calls:edit", args=[call.pk])
    context = {
        "form": form,
        "chat": chat,
        "call": call,
        "form_url": url,
        "back_url": _settings_url(chat),
        "heading": "Редактирование онлайн-звонка" if call else "Создание онлайн-звонка",
    }
    if _in_dialog(request):
        # The date changed: only «Урок в расписании» follows it.
        if request.method == "GET" and request.htmx.target == "call-lesson-field":
            return render(request, FORM + "#lesson-field", context)
        # The form sent from the dialog comes back into it, with its errors.
        if request.method == "POST":
            return render(request, FORM + "#call-form", context)
        return render(request, FORM + "#dialog", context)
    return render(request, FORM, context)


def _chosen(request, chat, call=None) -> dict | None:
    """A GET with `date` (the date select asking for its lessons, or an address with a date):
    the form as it would be, with that date."""
    if request.method != "GET" or "date" not in request.GET:
        return None
    return {**CallForm.initial_of(chat, call), "lesson": None, **request.GET.dict()}


def _save(request, form: CallForm, *, chat, call=None):
    """GET shows the form; POST saves it through the service, or shows it again with the
    service's words on the field they concern. «Показать уроки» (no JavaScript) only redraws."""
    if request.method == "POST" and "show_lessons" not in request.POST and form.is_valid():
        arguments = form.service_arguments()
        try:
            if call is None:
                services.call_create(
                    actor=request.user, roles=request.roles, chat=chat, **arguments
                )
                message = services.MESSAGE_CREATED
            else:
                services.call_update(
                    actor=request.user, roles=request.roles, call=call, **arguments
                )
                message = services.MESSAGE_UPDATED
        except CallError as error:
            form.add_call_error(error)
        else:
            messages.success(request, message)
            return _done(request, chat)
    return _form_page(request, form, chat=chat, call=call)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def create(request, chat_id: int):
    """«Создать онлайн-звонок» (F19)."""
    chat = access.chat_for_calls(request.user, request.roles, request.organization, chat_id)
    now = timezone.now()
    data = request.POST if request.method == "POST" else None
    form = CallForm(data, chat=chat, now=now, initial=_chosen(request, chat))
    return _save(request, form, chat=chat)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, call_id: int):
    """«Редактировать» a «Создан» call (F22); any other status says why not."""
    call = access.call_for_manage(request.user, request.roles, request.organization, call_id)
    chat = call.chat
    chat.organization = request.organization  # the call was found in it
    refused = services.refusal(call, Action.EDIT)
    if refused:
        return _notice(request, chat, call, heading="Редактирование онлайн-звонка", text=refused)
    now = timezone.now()
    data = request.POST if request.method == "POST" else None
    form = CallForm(data, chat=chat, now=now, call=call, initial=_chosen(request, chat, call))
    return _save(request, form, chat=chat, call=call)


# Publish, finish, delete (F23–F25) ------------------------------------------------------------

CONFIRMATIONS = {
    Action.PUBLISH: {
        "heading": "Публикация онлайн-звонка",
        "question": "Опубликовать онлайн-звонок «{title}»?",
        "hint": "Звонок станет доступен для перехода участникам чата и будет передан в VK "
        "Мессенджер.",
        "confirm": "Да, опубликовать",
        "danger": False,
    },
    Action.FINISH: {
        "heading": "Завершение онлайн-звонка",
        "question": "Завершить онлайн-звонок «{title}»?",
        "hint": "Звонок станет недоступен для перехода и перестанет отображаться участникам чата.",
        "confirm": "Да, завершить",
        "danger": False,
    },
    Action.DELETE: {
        "heading": "Удаление онлайн-звонка",
        "question": "Удалить онлайн-звонок «{title}»?",
        "hint": "Звонок перестанет отображаться в перечне онлайн-звонков чата и будет удалён "
        "из VK Мессенджера.",
        "confirm": "Да, удалить",
        "danger": True,
    },
}

SERVICES = {
    Action.PUBLISH: (services.call_publish, services.MESSAGE_PUBLISHED),
    Action.FINISH: (services.call_finish, services.MESSAGE_FINISHED),
    Action.DELETE: (services.call_delete, services.MESSAGE_DELETED),
}


def _notice(request, chat, call, *, heading: str, text: str, level: str = "error"):
    """Why the action is not offered, in the dialog or on a page of its own."""
    context = {
        "chat": chat,
        "call": call,
        "heading": heading,
        "notice": text,
        "level": level,
        "back_url": _settings_url(chat),
    }
    if _in_dialog(request):
        return render(request, CONFIRM + "#dialog", context)
    return render(request, CONFIRM, context)


def _confirmed_action(request, call_id: int, action: str):
    call = access.call_for_manage(request.user, request.roles, request.organization, call_id)
    chat = call.chat
    texts = CONFIRMATIONS[action]

    if request.method == "POST":
        service, success = SERVICES[action]
        try:
            service(actor=request.user, roles=request.roles, call=call)
        except CallError as error:
            messages.warning(request, error.message)
        else:
            messages.success(request, success)
        return _done(request, chat)

    refused = services.refusal(call, action)
    if not refused and action == Action.PUBLISH and selectors.other_published_call(call):
        # The seed: the check happens when «Опубликовать» is pressed, before the question.
        return _notice(
            request,
            chat,
            call,
            heading=texts["heading"],
            text=services.ALREADY_PUBLISHED,
            level="warning",
        )
    if refused:
        return _notice(request, chat, call, heading=texts["heading"], text=refused)
    context = {
        "chat": chat,
        "call": call,
        "action": action,
        "action_url": reverse(f"calls:{action}", args=[call.pk]),
        "back_url": _settings_url(chat),
        **texts,
        "question": texts["question"].format(title=call.title),
    }
    if _in_dialog(request):
        return render(request, CONFIRM + "#dialog", context)
    return render(request, CONFIRM, context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def publish(request, call_id: int):
    """«Опубликовать» (F23): GET asks «Да, опубликовать» / «Отменить», POST publishes."""
    return _confirmed_action(request, call_id, Action.PUBLISH)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def finish(request, call_id: int):
    """«Завершить» (F24): GET asks «Да, завершить» / «Отменить», POST finishes."""
    return _confirmed_action(request, call_id, Action.FINISH)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete(request, call_id: int):
    """«Удалить» (F25): GET asks for confirmation, POST deletes."""
    return _confirmed_action(request, call_id, Action.DELETE)


# Joining (F26) ---------------------------------------------------------------------------------


@login_required
@require_safe
def join(request, call_id: int):
    """The call's page for its chat's members and the OO admin: what, where, when, and the way
    into the messenger's call — inactive without a VK ID link."""
    call = access.call_for_join(request.user, request.roles, request.organization, call_id)
    return render(
        request,
        "calls/call_join.html",
        {
            "call": call,
            "chat": call.chat,
            "vk_linked": selectors.has_vk_link(request.user),
            "join_link": selectors.join_link(call),
            "may_manage": access.can_manage_calls(request.user, request.roles, call.chat),
        },
    )
