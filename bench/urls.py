"""The product's URLconf plus one trivial view: the yardstick every page is measured against
(the same middleware stack, the same client, no work of its own)."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("__bench__/trivial/", trivial, name="bench_trivial"),
    path("", include("config.urls")),
]
