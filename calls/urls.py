from django.urls import path

from calls import calendar_views, views

app_name = "calls"

urlpatterns = [
    path("chat/<int:chat_id>/", views.chat_calls, name="chat_calls"),
    path("chat/<int:chat_id>/new/", views.create, name="create"),
    path("<int:call_id>/edit/", views.edit, name="edit"),
    path("<int:call_id>/publish/", views.publish, name="publish"),
    path("<int:call_id>/finish/", views.finish, name="finish"),
    path("<int:call_id>/delete/", views.delete, name="delete"),
    path("<int:call_id>/join/", views.join, name="join"),
    path("calendar/", calendar_views.calendar_settings, name="calendar"),
    path("calendar/reset/", calendar_views.calendar_reset, name="calendar_reset"),
    path("calendar/<slug:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
]
