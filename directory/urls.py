from django.urls import path

from directory import views

urlpatterns = [
    path("", views.desktop, name="desktop"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("organization/", views.switch_organization, name="switch_organization"),
]
