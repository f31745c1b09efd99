from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from directory import selectors
from directory.forms import OrganizationSwitchForm, SignInForm
from directory.middleware import remember_organization

login = auth_views.LoginView.as_view(
    template_name="directory/login.html",
    authentication_form=SignInForm,
    redirect_authenticated_user=True,
)


class _LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Added after the session is flushed, so it lands in the new anonymous one.
        messages.info(request, "Вы вышли из ЭПОС.СПО.")
        return response


logout = _LogoutView.as_view()


@login_required
def desktop(request):
    desktop = selectors.desktop_of(request.organization, request.roles)
    return render(request, "directory/desktop.html", {"desktop": desktop})


@login_required
@require_POST
def switch_organization(request):
    form = OrganizationSwitchForm(request.POST, organizations=request.organizations)
    if not form.is_valid():
        # Only a crafted request (or a role removed a second ago) gets here: the header
        # offers nothing else.
        raise PermissionDenied("Эта организация вам недоступна.")
    organization = form.cleaned_data["organization"]
    remember_organization(request, organization)
    messages.success(request, f"Текущая организация: {organization}.")
    # Pages of the previous college (a chat, a call) mean nothing in the new one.
    return redirect("desktop")
