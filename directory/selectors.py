"""Reads of the directory for pages and for the current-organization switch."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from directory.models import Guardian, Organization, Person, StaffMember, Student


def organizations_of(person: Person) -> list[Organization]:
    """The organizations where the person holds an active role, in one query."""

    def role(model):
        return Exists(
            model.objects.filter(organization=OuterRef("pk"), person=person, is_active=True)
        )

    return list(
        Organization.objects.filter(role(StaffMember) | role(Student) | role(Guardian)).order_by(
            "short_name", "pk"
        )
    )


@dataclass(frozen=True)
class Roles:
    """What a person is in one organization."""

    staff: StaffMember | None
    student: Student | None
    guardian: Guardian | None

    @property
    def is_admin(self) -> bool:
        return bool(self.staff and self.staff.is_admin)

    @property
    def labels(self) -> list[str]:
        labels = []
        if self.is_admin:
            labels.append("Администратор ОО")
        if self.staff:
            labels.append(self.staff.position or "Сотрудник")
        if self.student:
            labels.append("Обучающийся")
        if self.guardian:
            labels.append("Родитель")
        return labels


def roles_of(person: Person, organization: Organization | None) -> Roles:
    if organization is None:
        return Roles(None, None, None)
    active = {"person": person, "organization": organization, "is_active": True}
    return Roles(
        staff=StaffMember.objects.filter(**active).first(),
        student=Student.objects.filter(**active).select_related("group").first(),
        guardian=Guardian.objects.filter(**active).first(),
    )
