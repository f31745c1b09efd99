def current_organization(request):
    """The header's profile block: the current organization, the others, the roles in it."""
    return {
        "organization": getattr(request, "organization", None),
        "organizations": getattr(request, "organizations", []),
        "roles": getattr(request, "roles", None),
    }
