"""ЭПОС conversations (F30), included into the `epos_chats` namespace."""

from django.urls import path

from epos_chats import messaging_views as views

urlpatterns = [
    path("epos/", views.conversations, name="conversations"),
    path("epos/new/", views.epos_create, name="epos_create"),
    path("epos/<int:chat_id>/", views.conversation, name="conversation"),
    path("epos/<int:chat_id>/older/", views.messages_older, name="messages_older"),
    path("epos/<int:chat_id>/poll/", views.messages_poll, name="messages_poll"),
    path("epos/<int:chat_id>/leave/", views.conversation_leave, name="conversation_leave"),
    path("epos/<int:chat_id>/add/", views.conversation_add, name="conversation_add"),
]
