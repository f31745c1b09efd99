from django.urls import include, path

from epos_chats import create_views, edit_views, picker_views, views

app_name = "epos_chats"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:chat_id>/", views.chat_settings, name="settings"),
    # F14–F16: a new chat
    path("new/", create_views.new_chat, name="create"),
    path("new/custom/", create_views.create_custom, name="create_custom"),
    path("new/custom/title/", create_views.title_preview, name="title_preview"),
    path("new/discipline/", create_views.create_discipline, name="create_discipline"),
    path("drafts/<int:draft_id>/", picker_views.draft_change, name="draft_change"),
    # F17–F18: editing and deleting
    path("<int:chat_id>/rename/", edit_views.rename, name="rename"),
    path("<int:chat_id>/members/", edit_views.members, name="members"),
    path(
        "<int:chat_id>/members/<int:person_id>/remove/",
        edit_views.member_remove,
        name="member_remove",
    ),
    path(
        "<int:chat_id>/members/<int:person_id>/admin/",
        edit_views.member_admin,
        name="member_admin",
    ),
    path("<int:chat_id>/delete/", edit_views.delete, name="delete"),
    # F30: ЭПОС conversations
    path("", include("epos_chats.messaging_urls")),
]
