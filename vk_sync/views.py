"""The «Привязать / Отвязать учебный профиль VK ID» buttons of «Чаты» (F5, F9): VK ID
authorization there and back, and unlinking with a confirmation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from vk_sync import services, vkid
from vk_sync.models import VkLink


def chats_url() -> str:
    """Where every VK ID round trip ends: «Чаты» (F9)."""
    return reverse("epos_chats:index")


@login_required
@require_safe
def link(request):
    """Off to VK ID («страница журнала скроется»), with a fresh state and PKCE verifier."""
    if VkLink.objects.filter(person=request.user).exists():
        messages.info(request, "Учебный профиль VK ID уже привязан.")
        return redirect(chats_url())
    callback = request.build_absolute_uri(reverse("vk_sync:callback"))
    return redirect(vkid.start(request.user, redirect_uri=callback))


@login_required
@require_safe
def callback(request):
    """Back from VK ID: always to «Чаты», with what happened."""
    try:
        vk_user_id = vkid.finish(request.user, request.GET)
        services.link_vk_profile(
            request.user, vk_user_id, actor=request.user, organization=request.organization
        )
    except (vkid.VkIdError, services.VkLinkError) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "Учебный профиль VK ID привязан: вы добавлены в свои чаты VK Мессенджера.",
        )
    return redirect(chats_url())


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def unlink(request):
    if request.method == "POST":
        unlinked = services.unlink_vk_profile(
            request.user, actor=request.user, organization=request.organization
        )
        if unlinked:
            messages.success(
                request,
                "Учебный профиль VK ID отвязан. Из чатов VK Мессенджера вы будете исключены "
                "при ближайшей синхронизации.",
            )
        else:
            messages.info(request, "Учебный профиль VK ID не был привязан: отвязывать нечего.")
        return redirect(chats_url())

    link = VkLink.objects.filter(person=request.user).first()
    if link is None:
        messages.info(request, "Учебный профиль VK ID не привязан.")
        return redirect(chats_url())
    return render(request, "vk_sync/unlink.html", {"link": link, "back_url": chats_url()})
