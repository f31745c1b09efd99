"""Writing a validated snapshot: set-based upserts by external id, one transaction per file.

Each kind of row is read once per organization, diffed in memory against the snapshot and
written with bulk statements, so the number of queries does not grow with the roster. Rows
absent from the snapshot are deactivated; rows that reappear are reactivated.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db import IntegrityError, models, transaction

from directory.imports.schema import DirectoryImportError, OrgSnapshot, PersonData, validate
from directory.models import (
    Discipline,
    Group,
    Guardian,
    Lesson,
    Organization,
    Person,
    StaffMember,
    Student,
    Teaching,
)

BATCH = 2000

# The order of the summary and of the writes (each kind refers only to kinds above it).
KINDS = {
    "organization": "Организация",
    "disciplines": "Дисциплины",
    "staff": "Кадры",
    "groups": "Группы",
    "students": "Обучающиеся",
    "guardians": "Родители",
    "teachings": "Группы по дисциплинам",
    "lessons": "Расписание",
}
STEPS_PER_ORGANIZATION = len(KINDS)

Progress = Callable[[int, int, str], None]


class MassRemovalError(DirectoryImportError):
    """B2: the file would deactivate too many of a college's people at once."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


@dataclass
class ImportReport:
    people: Counts = field(default_factory=Counts)
    # organization code -> kind (a key of KINDS) -> counts
    organizations: dict[str, dict[str, Counts]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.people.changed or any(
            counts.changed for kinds in self.organizations.values() for counts in kinds.values()
        )


def import_directory(
    document: object,
    *,
    allow_mass_removal: bool = False,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the whole document, then write it in one transaction (or nothing at all)."""
    snapshot = validate(document)
    threshold = settings.MASS_REMOVAL_THRESHOLD if threshold is None else threshold
    total = 1 + STEPS_PER_ORGANIZATION * len(snapshot.organizations)
    step = _Stepper(progress, total)
    report = ImportReport()
    try:
        with transaction.atomic():
            people = _sync_people(snapshot.people, report.people)
            step("Люди")
            for org in snapshot.organizations:
                report.names[org.code] = org.short_name
                report.organizations[org.code] = _sync_organization(
                    org, people, step, threshold=None if allow_mass_removal else threshold
                )
    except IntegrityError as exc:
        # Validation rules out conflicts within the file; this is a concurrent writer or a
        # clash with rows the file does not describe.
        raise DirectoryImportError(
            [("$", f"конфликт с данными в базе, ничего не записано; повторите импорт ({exc})")]
        ) from exc
    return report


class _Stepper:
    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, label: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, self.total, label)


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unusable_password() -> str:
    # make_password(None) draws 40 random characters one by one: too slow for a region.
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _sync_people(people: dict[str, PersonData], counts: Counts) -> dict[str, int]:
    """Person ids by login; names follow the latest file, passwords only fill an empty one."""
    logins = list(people)
    existing: dict[str, tuple] = {}
    for chunk in _chunks(logins):
        for pk, login, last, first, middle, password in Person.objects.filter(
            login__in=chunk
        ).values_list("pk", "login", "last_name", "first_name", "middle_name", "password"):
            existing[login] = (pk, (last, first, middle), password)

    to_create, to_update = [], []
    for login, data in people.items():
        names = (data.last_name, data.first_name, data.middle_name)
        found = existing.get(login)
        if found is None:
            password = make_password(data.password) if data.password else _unusable_password()
            to_create.append(
                Person(
                    login=login,
                    last_name=data.last_name,
                    first_name=data.first_name,
                    middle_name=data.middle_name,
                    password=password,
                )
            )
            continue
        pk, current_names, current_password = found
        # A password in the file is an initial one: it never overwrites one the person uses.
        set_password = bool(data.password) and current_password.startswith(UNUSABLE_PASSWORD_PREFIX)
        if current_names == names and not set_password:
            counts.unchanged += 1
            continue
        counts.updated += 1
        to_update.append(
            Person(
                pk=pk,
                last_name=data.last_name,
                first_name=data.first_name,
                middle_name=data.middle_name,
                password=make_password(data.password) if set_password else current_password,
            )
        )
    Person.objects.bulk_create(to_create, batch_size=BATCH)
    Person.objects.bulk_update(
        to_update, ["last_name", "first_name", "middle_name", "password"], batch_size=BATCH
    )
    counts.created = len(to_create)
    ids = {login: found[0] for login, found in existing.items()}
    ids.update((person.login, person.pk) for person in to_create)
    return ids


@dataclass
class _Synced:
    counts: Counts
    ids: dict[tuple, int]  # key -> pk, active or not
    unchanged: set[int]  # pks counted as unchanged (a change of their links makes them updated)

    def id_of(self, external_id: str) -> int:
        return self.ids[(external_id,)]

    def links_changed(self, pks: Iterable[int]) -> None:
        for pk in pks:
            if pk in self.unchanged:
                self.unchanged.discard(pk)
                self.counts.unchanged -= 1
                self.counts.updated += 1


def _sync_rows(
    model: type[models.Model],
    scope: models.QuerySet,
    wanted: dict[tuple, dict],
    *,
    key_fields: tuple[str, ...] = ("external_id",),
    value_fields: tuple[str, ...],
    create_extra: dict | None = None,
    person_field: str | None = None,
    where: str = "",
) -> _Synced:
    """Upsert `wanted` (key -> values) into `scope`, deactivating what the snapshot lacks.

    With `person_field`, a person who already holds this role under another external id keeps
    their row (re-keyed) instead of hitting the one-role-per-person constraint.
    """
    existing: dict[tuple, tuple[int, bool, tuple]] = {}
    n = len(key_fields)
    for pk, active, *rest in scope.values_list(
        "pk", "is_active", *key_fields, *value_fields
    ).iterator(chunk_size=BATCH):
        existing[tuple(rest[:n])] = (pk, active, tuple(rest[n:]))

    by_person: dict[int, tuple] = {}
    if person_field:
        person_at = value_fields.index(person_field)
        by_person = {values[person_at]: key for key, (_, _, values) in existing.items()}

    counts = Counts()
    unchanged: set[int] = set()
    to_create, to_update = [], []
    update_fields = [*value_fields, "is_active"]
    for key, data in wanted.items():
        values = tuple(data[f] for f in value_fields)
        found = existing.get(key)
        if found is None and person_field:
            old_key = by_person.get(data[person_field])
            if old_key is not None and old_key not in wanted:
                # The journal gave this person's role a new id: move the row, keep its history.
                found = existing.pop(old_key)
                existing[key] = found
                update_fields = [*value_fields, "is_active", *key_fields]
                found = (found[0], False, found[2])  # force an update
            elif old_key is not None:
                raise DirectoryImportError(
                    [
                        (
                            f"{where}[id={key[0]}]",
                            f"человек уже числится здесь под id «{old_key[0]}», "
                            "а этот id в файле отдан другому человеку",
                        )
                    ]
                )
        if found is None:
            to_create.append(
                model(**dict(zip(key_fields, key, strict=True)), **data, **(create_extra or {}))
            )
            continue
        pk, active, current = found
        if active and current == values:
            counts.unchanged += 1
            unchanged.add(pk)
            continue
        counts.updated += 1
        to_update.append(
            model(
                pk=pk,
                is_active=True,
                **dict(zip(key_fields, key, strict=True)),
                **dict(zip(value_fields, values, strict=True)),
            )
        )

    to_deactivate = [
        pk for key, (pk, active, _) in existing.items() if active and key not in wanted
    ]
    model.objects.bulk_create(to_create, batch_size=BATCH)
    model.objects.bulk_update(to_update, update_fields, batch_size=BATCH)
    for chunk in _chunks(to_deactivate):
        model.objects.filter(pk__in=chunk).update(is_active=False)
    counts.created = len(to_create)
    counts.deactivated = len(to_deactivate)

    ids = {key: pk for key, (pk, _, _) in existing.items()}
    ids.update((tuple(getattr(obj, f) for f in key_fields), obj.pk) for obj in to_create)
    return _Synced(counts, ids, unchanged)


def _sync_links(
    relation: models.ManyToManyField, scope: dict, wanted: dict[int, Iterable[int]]
) -> set[int]:
    """Make the owners' links equal to `wanted` (owner pk -> target pks); return changed owners.

    Links of owners absent from the snapshot are left as they were: part of their history.
    """
    through = relation.remote_field.through
    owner = relation.m2m_field_name()
    target = relation.m2m_reverse_field_name()
    existing: dict[tuple[int, int], int] = {}
    for pk, owner_id, target_id in (
        through.objects.filter(**{f"{owner}__{k}": v for k, v in scope.items()})
        .values_list("pk", f"{owner}_id", f"{target}_id")
        .iterator(chunk_size=BATCH)
    ):
        if owner_id in wanted:
            existing[(owner_id, target_id)] = pk
    wanted_pairs = {(o, t) for o, targets in wanted.items() for t in targets}
    added = wanted_pairs - existing.keys()
    removed = existing.keys() - wanted_pairs
    through.objects.bulk_create(
        [through(**{f"{owner}_id": o, f"{target}_id": t}) for o, t in added], batch_size=BATCH
    )
    for chunk in _chunks([existing[pair] for pair in removed]):
        through.objects.filter(pk__in=chunk).delete()
    return {o for o, _ in added | removed}


def _check_mass_removal(organization: Organization, snap: OrgSnapshot, threshold: float) -> None:
    """B2: stop before a broken roster feed empties a college."""
    active = removed = 0
    for model, wanted in (
        (StaffMember, snap.staff),
        (Student, snap.students),
        (Guardian, snap.guardians),
    ):
        ids = model.objects.filter(organization=organization, is_active=True).values_list(
            "external_id", flat=True
        )
        for external_id in ids.iterator(chunk_size=BATCH):
            active += 1
            removed += external_id not in wanted
    if active and removed / active > threshold:
        raise MassRemovalError(
            [
                (
                    f"organizations[code={snap.code}]",
                    f"импорт деактивировал бы {removed} из {active} человек организации "
                    f"«{snap.short_name}» ({removed / active:.0%}), больше порога "
                    f"{threshold:.0%} (MASS_REMOVAL_THRESHOLD). Ничего не записано. Если файл "
                    "верен и люди действительно выбыли, повторите с --allow-mass-removal.",
                )
            ]
        )


def _sync_organization(
    snap: OrgSnapshot, people: dict[str, int], step: _Stepper, *, threshold: float | None
) -> dict[str, Counts]:
    result: dict[str, Counts] = {}
    # Serialize imports of one college: two at once would race on the same rows.
    organization = Organization.objects.select_for_update().filter(code=snap.code).first()
    counts = Counts()
    wanted_org = {"name": snap.name, "short_name": snap.short_name}
    if snap.time_zone:
        wanted_org["time_zone"] = snap.time_zone
    if organization is None:
        organization = Organization.objects.create(code=snap.code, **wanted_org)
        counts.created = 1
    elif any(getattr(organization, k) != v for k, v in wanted_org.items()):
        Organization.objects.filter(pk=organization.pk).update(**wanted_org)
        counts.updated = 1
    else:
        counts.unchanged = 1
    if threshold is not None and not counts.created:
        _check_mass_removal(organization, snap, threshold)
    result["organization"] = counts
    step(f"{snap.short_name}: организация")
    in_org = {"organization": organization}

    disciplines = _sync_rows(
        Discipline,
        Discipline.objects.filter(**in_org),
        {(k,): v for k, v in snap.disciplines.items()},
        value_fields=("name",),
        create_extra=in_org,
    )
    result["disciplines"] = disciplines.counts
    step(f"{snap.short_name}: дисциплины")

    staff = _sync_rows(
        StaffMember,
        StaffMember.objects.filter(**in_org),
        {
            (k,): {
                "person_id": people[v["login"]],
                "position": v["position"],
                "is_admin": v["is_admin"],
            }
            for k, v in snap.staff.items()
        },
        value_fields=("person_id", "position", "is_admin"),
        create_extra=in_org,
        person_field="person_id",
        where=f"organizations[code={snap.code}].staff",
    )
    result["staff"] = staff.counts
    step(f"{snap.short_name}: кадры")

    groups = _sync_rows(
        Group,
        Group.objects.filter(**in_org),
        {(k,): {"name": v["name"], "course": v["course"]} for k, v in snap.groups.items()},
        value_fields=("name", "course"),
        create_extra=in_org,
    )
    groups.links_changed(
        _sync_links(
            Group._meta.get_field("curators"),
            in_org,
            {
                groups.id_of(k): [staff.id_of(s) for s in v["curators"]]
                for k, v in snap.groups.items()
            },
        )
    )
    result["groups"] = groups.counts
    step(f"{snap.short_name}: группы")

    students = _sync_rows(
        Student,
        Student.objects.filter(**in_org),
        {
            (k,): {"person_id": people[v["login"]], "group_id": groups.id_of(v["group"])}
            for k, v in snap.students.items()
        },
        value_fields=("person_id", "group_id"),
        create_extra=in_org,
        person_field="person_id",
        where=f"organizations[code={snap.code}].students",
    )
    result["students"] = students.counts
    step(f"{snap.short_name}: обучающиеся")

    guardians = _sync_rows(
        Guardian,
        Guardian.objects.filter(**in_org),
        {(k,): {"person_id": people[v["login"]]} for k, v in snap.guardians.items()},
        value_fields=("person_id",),
        create_extra=in_org,
        person_field="person_id",
        where=f"organizations[code={snap.code}].parents",
    )
    guardians.links_changed(
        _sync_links(
            Guardian._meta.get_field("children"),
            in_org,
            {
                guardians.id_of(k): [students.id_of(s) for s in v["children"]]
                for k, v in snap.guardians.items()
            },
        )
    )
    result["guardians"] = guardians.counts
    step(f"{snap.short_name}: родители")

    teachings = _sync_rows(
        Teaching,
        Teaching.objects.filter(**in_org),
        {
            (k,): {
                "group_id": groups.id_of(v["group"]),
                "discipline_id": disciplines.id_of(v["discipline"]),
            }
            for k, v in snap.teachings.items()
        },
        value_fields=("group_id", "discipline_id"),
        create_extra=in_org,
    )
    for relation, source, targets in (
        ("teachers", "teachers", staff),
        ("students", "students", students),
    ):
        teachings.links_changed(
            _sync_links(
                Teaching._meta.get_field(relation),
                in_org,
                {
                    teachings.id_of(k): [targets.id_of(t) for t in v[source]]
                    for k, v in snap.teachings.items()
                },
            )
        )
    result["teachings"] = teachings.counts
    step(f"{snap.short_name}: группы по дисциплинам")

    lessons = _sync_rows(
        Lesson,
        Lesson.objects.filter(teaching__organization=organization),
        {
            (teachings.id_of(teaching), date, start): {"end": v["end"]}
            for (teaching, date, start), v in snap.lessons.items()
        },
        key_fields=("teaching_id", "date", "start"),
        value_fields=("end",),
    )
    result["lessons"] = lessons.counts
    step(f"{snap.short_name}: расписание")
    return result
