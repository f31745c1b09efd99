"""The region's «Мониторинг» summaries as Celery tasks: safe to run twice, at once or late."""

from __future__ import annotations

from celery import shared_task

from directory.models import Organization
from reports import selectors, services


@shared_task(ignore_result=True)
def refresh_region_summaries() -> str:
    """Celery beat, every `selectors.REFRESH_EVERY`: recount the region unless a count (an
    administrator's «Обновить», say) left it fresh a moment ago or one is running now."""
    return services.refresh_region(fresh_for=selectors.REFRESH_EVERY / 2).outcome.value


@shared_task(ignore_result=True)
def summarize_college(organization_id: int) -> None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is not None:
        services.summarize_college(organization)
