"""Who may see which «Мониторинг»: the OO admin their college, the region administrator all."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from directory.models import Organization
from reports.models import RegionAdministrator

DENIED = "«Мониторинг» доступен администраторам ОО и администраторам региона."


def is_region_admin(person) -> bool:
    return RegionAdministrator.objects.filter(person=person).exists()


def region_for(request) -> None:
    if not is_region_admin(request.user):
        raise PermissionDenied(DENIED)


def college_for(request, organization_id: int) -> Organization:
    """The college whose page the person opens: their own as its OO admin, any as the
    region's administrator; 403 otherwise."""
    own = request.organization
    if own is not None and own.pk == organization_id and request.roles.is_admin:
        return own
    if not is_region_admin(request.user):
        raise PermissionDenied(DENIED)
    try:
        return Organization.objects.get(pk=organization_id)
    except Organization.DoesNotExist:
        raise Http404("Организация не найдена.") from None


def audit_college_for(request) -> Organization:
    """The audit log is the OO admin's, of their current college."""
    if request.organization is None or not request.roles.is_admin:
        raise PermissionDenied("Журнал действий доступен администраторам ОО.")
    return request.organization
