from django.contrib import admin

from reports.models import RegionAdministrator


@admin.register(RegionAdministrator)
class RegionAdministratorAdmin(admin.ModelAdmin):
    list_display = ("person", "granted_at")
    autocomplete_fields = ("person",)
    search_fields = ("person__login", "person__last_name", "person__first_name")
    list_select_related = ("person",)
