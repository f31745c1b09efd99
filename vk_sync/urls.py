from django.urls import path

from vk_sync import views

app_name = "vk_sync"

urlpatterns = [
    path("link/", views.link, name="link"),
    path("callback/", views.callback, name="callback"),
    path("unlink/", views.unlink, name="unlink"),
]
