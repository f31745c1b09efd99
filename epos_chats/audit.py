"""B4: one helper every service calls inside its transaction, so no change goes unrecorded."""

from __future__ import annotations

from django.db import models

from directory.models import Organization, Person
from epos_chats.models import AuditEvent


def record(
    *,
    actor: Person | None,
    organization: Organization | None,
    action: str,
    obj: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        object_repr=str(obj)[:300],
        before=before or {},
        after=after or {},
    )
