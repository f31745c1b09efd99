"""The «Мониторинг» menu item of a region administrator, decided once at sign-in.

The flag lives in the session so that no page pays a query for it; the pages of
`reports` check the table itself on every request."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SESSION_FLAG = "reports_region_admin"


@receiver(user_logged_in, dispatch_uid="reports.remember_region_admin")
def remember_region_admin(sender, request, user, **kwargs):
    from reports.models import RegionAdministrator

    if request is None or not hasattr(request, "session"):
        return
    is_region_admin = RegionAdministrator.objects.filter(person=user).exists()
    if is_region_admin:
        request.session[SESSION_FLAG] = True
    else:
        request.session.pop(SESSION_FLAG, None)
