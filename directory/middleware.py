"""Which organization the signed-in person acts in: kept in the session, checked every request."""

from directory import selectors

SESSION_KEY = "organization_id"


def current_organization(get_response):
    def middleware(request):
        request.organization = None
        request.organizations = []
        if request.user.is_authenticated:
            request.organizations = selectors.organizations_of(request.user)
            by_id = {org.pk: org for org in request.organizations}
            chosen = by_id.get(request.session.get(SESSION_KEY))
            if chosen is None and request.organizations:
                chosen = request.organizations[0]
                request.session[SESSION_KEY] = chosen.pk
            request.organization = chosen
        return get_response(request)

    return middleware
