from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

login = auth_views.LoginView.as_view(
    template_name="directory/login.html", redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view()


@login_required
def desktop(request):
    return render(request, "directory/desktop.html")


@login_required
@require_POST
def switch_organization(request):
    return redirect("desktop")
