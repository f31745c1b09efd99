"""Forms of the directory's pages: sign-in and the current-organization switch."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from directory import selectors, throttle
from directory.models import Organization

REQUIRED = "Заполните это поле."


class SignInForm(AuthenticationForm):
    """«Вход в ЭПОС.СПО»: only people who act somewhere may come in."""

    error_messages = {
        # One message for an unknown login and a wrong password: which one it was is
        # not the visitor's business.
        "invalid_login": "Неверный логин или пароль. Проверьте раскладку клавиатуры и Caps Lock.",
        "inactive": "Вход для этой учётной записи закрыт. Обратитесь к администратору колледжа.",
        "no_role": (
            "Вход невозможен: у вас нет действующей роли ни в одной образовательной "
            "организации. Обратитесь к администратору колледжа."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Логин"
        self.fields["password"].label = "Пароль"
        for field in self.fields.values():
            field.error_messages["required"] = REQUIRED

    def clean(self):
        login = self.cleaned_data.get("username") or ""
        address = throttle.client_address(self.request)
        wait = throttle.locked_for(login, address)
        if wait:
            raise forms.ValidationError(throttle.message(wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if any(e.code == "invalid_login" for e in error.error_list):
                throttle.record_failure(login, address)
            raise
        throttle.clear(login, address)
        return cleaned

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        # Support staff come in for the admin even without a college role.
        if not user.is_staff and not selectors.organizations_of(user):
            raise forms.ValidationError(self.error_messages["no_role"], code="no_role")


class OrganizationSwitchForm(forms.Form):
    """The header's college picker; it offers, and accepts, only the person's own colleges."""

    organization = forms.TypedChoiceField(
        label="Организация",
        coerce=int,
        error_messages={
            "required": "Выберите организацию.",
            "invalid_choice": "Эта организация вам недоступна.",
        },
    )

    def __init__(self, *args, organizations: list[Organization], **kwargs):
        super().__init__(*args, **kwargs)
        self._by_id = {org.pk: org for org in organizations}
        self.fields["organization"].choices = [
            (org.pk, org.short_name or org.name) for org in organizations
        ]

    def clean_organization(self) -> Organization:
        return self._by_id[self.cleaned_data["organization"]]
