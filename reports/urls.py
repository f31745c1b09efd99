from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("region/", views.region, name="region"),
    path("region/refresh/", views.region_refresh, name="region_refresh"),
    path("region/<slug:table>.csv", views.region_csv, name="region_csv"),
    path("college/<int:organization_id>/", views.college, name="college"),
    path("college/<int:organization_id>/<slug:table>.csv", views.college_csv, name="college_csv"),
    path("audit/", views.audit_log, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
]
