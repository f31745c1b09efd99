"""Which organization the signed-in person acts in: kept in the session, checked every request."""

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from directory import selectors
from directory.models import Organization

SESSION_KEY = "organization_id"


def current_organization(get_response):
    def middleware(request):
        request.organization = None
        request.organizations = []
        request.roles = selectors.NO_ROLES
        if request.user.is_authenticated:
            # Re-read every request: a role removed by tonight's import must not linger
            # in a session that was opened yesterday.
            request.organizations = selectors.organizations_of(request.user)
            by_id = {org.pk: org for org in request.organizations}
            chosen = by_id.get(request.session.get(SESSION_KEY))
            if chosen is None and request.organizations:
                chosen = request.organizations[0]
                remember_organization(request, chosen)
            request.organization = chosen
            # Lazy: redirects and POST endpoints never look at the roles.
            request.roles = SimpleLazyObject(
                lambda: selectors.roles_of(request.user, request.organization)
            )
        # Dates and times on the page are the college's, not the server's.
        with timezone.override(selectors.time_zone_of(request.organization)):
            return get_response(request)

    return middleware


def remember_organization(request: HttpRequest, organization: Organization) -> None:
    """Make `organization` the current one for the rest of the session."""
    request.session[SESSION_KEY] = organization.pk
