from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ЭПОС.СПО — поддержка"
admin.site.site_title = "ЭПОС.СПО"
admin.site.index_title = "Администрирование"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("chats/", include("epos_chats.urls")),
    path("calls/", include("calls.urls")),
    path("vk-id/", include("vk_sync.urls")),
    path("reports/", include("reports.urls")),
    path("", include("directory.urls")),
]
