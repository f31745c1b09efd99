from django.urls import path

from epos_chats import views

app_name = "epos_chats"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:chat_id>/", views.chat_settings, name="settings"),
]
