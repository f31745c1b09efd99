def current_organization(request):
    return {
        "organization": getattr(request, "organization", None),
        "organizations": getattr(request, "organizations", []),
    }
