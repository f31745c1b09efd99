"""The «Привязать / Отвязать учебный профиль VK ID» buttons of «Чаты» (F5, F9).

Authorization through VK ID comes with the messenger issue; until then the link page says so
and points to support, who link a profile with `manage.py vkid_link`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_safe

from vk_sync import services
from vk_sync.models import VkLink


def chats_url() -> str:
    """«Чаты», or the desktop while the «Чаты» page is not installed."""
    try:
        return reverse("epos_chats:index")
    except NoReverseMatch:
        return reverse("desktop")


@login_required
@require_safe
def link(request):
    if VkLink.objects.filter(person=request.user).exists():
        messages.info(request, "Учебный профиль VK ID уже привязан.")
        return redirect(chats_url())
    return render(request, "vk_sync/link.html", {"back_url": chats_url()})


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
