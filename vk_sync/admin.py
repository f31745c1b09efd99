"""Django admin of VK ID links, for support staff: find whose VK account is whose.

Saving and deleting go through `vk_sync.services`, like the support commands, so a link made
here reaches the messenger the same way as one made by the person.
"""

from django.contrib import admin

from directory.admin import person_search
from vk_sync.models import VkLink
from vk_sync.services import link_vk_profile, unlink_vk_profile


@admin.register(VkLink)
class VkLinkAdmin(admin.ModelAdmin):
    list_display = ("person", "login", "vk_user_id", "linked_at")
    # `__exact` on the number: an FIO typed into the search box is not an error.
    search_fields = (*person_search("person"), "vk_user_id__exact")
    list_select_related = ("person",)
    autocomplete_fields = ("person",)
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A link belongs to its person: moving it to someone else is an unlink and a link.
        return ("person", "linked_at") if obj is not None else ("linked_at",)

    @admin.display(description="логин", ordering="person__login")
    def login(self, obj: VkLink) -> str:
        return obj.person.login

    def save_model(self, request, obj, form, change):
        link = link_vk_profile(obj.person, obj.vk_user_id, actor=request.user)
        obj.pk, obj.linked_at = link.pk, link.linked_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        unlink_vk_profile(obj.person, actor=request.user)

    def delete_queryset(self, request, queryset):
        for link in queryset.select_related("person"):
            unlink_vk_profile(link.person, actor=request.user)
