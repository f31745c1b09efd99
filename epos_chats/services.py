"""Every change to chats goes through here: the nightly rebuild of mandatory chats (F11, F13)
and the guard that keeps mandatory chats out of people's hands (F12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from directory.models import Group, Guardian, Organization, StaffMember, Student
from epos_chats.models import Chat, ChatMember, RebuildRun

BATCH = 2000


class ChatError(Exception):
    """A change the rules do not allow; the message is shown to the person as it is."""


class MandatoryChatLocked(ChatError):
    def __init__(self, chat: Chat):
        super().__init__(
            f"«{chat.title}» — обязательный чат: его состав, название и администраторов "
            "определяет справочник ОО, изменить или удалить его нельзя."
        )


def ensure_editable(chat: Chat) -> None:
    """F12: the one check every editing service calls before it touches a chat."""
    if chat.is_mandatory:
        raise MandatoryChatLocked(chat)
    if chat.is_deleted:
        raise ChatError(f"Чат «{chat.title}» удалён.")


def mandatory_title(kind: str, group_name: str | None = None) -> str:
    if kind == Chat.Kind.TEACHERS:
        return "Преподаватели"
    prefix = "Группа" if kind == Chat.Kind.GROUP else "Родители"
    return f"{prefix} {group_name}"


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Plan:
    """The difference between the directory and a college's mandatory chats."""

    create: list[Chat] = field(default_factory=list)
    restore: list[int] = field(default_factory=list)
    rename: list[Chat] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    add: list[tuple[int, int, bool]] = field(default_factory=list)  # (chat key, person, admin)
    remove: list[int] = field(default_factory=list)  # ChatMember pks
    make_admin: list[int] = field(default_factory=list)
    make_member: list[int] = field(default_factory=list)
    removed_with_deleted_chats: int = 0
    removed_from_live_chats: int = 0
    live_members: int = 0
    touched: set[int] = field(default_factory=set)  # chat pks whose messenger state changes

    @property
    def removals(self) -> int:
        return self.removed_from_live_chats + self.removed_with_deleted_chats

    @property
    def empty(self) -> bool:
        return not (
            self.create
            or self.restore
            or self.rename
            or self.delete
            or self.add
            or self.remove
            or self.make_admin
            or self.make_member
        )


def _wanted_members(organization: Organization) -> dict[tuple[str, int | None], dict[int, bool]]:
    """Who belongs to each mandatory chat by the directory, keyed by (kind, group id).

    Three set-based queries over the roles and links; the curators' rows come with
    the admin right.
    """
    wanted: dict[tuple[str, int | None], dict[int, bool]] = {}

    def put(key, person_id, admin):
        members = wanted.setdefault(key, {})
        members[person_id] = members.get(person_id, False) or admin

    teachers = (Chat.Kind.TEACHERS, None)
    wanted[teachers] = {}
    for person_id, is_admin in StaffMember.objects.filter(
        organization=organization, is_active=True
    ).values_list("person_id", "is_admin"):
        put(teachers, person_id, is_admin)

    curated: dict[int, set[int]] = {}
    for group_id, person_id in Group.curators.through.objects.filter(
        group__organization=organization, group__is_active=True, staffmember__is_active=True
    ).values_list("group_id", "staffmember__person_id"):
        curated.setdefault(group_id, set()).add(person_id)
    for group_id, curators in curated.items():
        for kind in Chat.GROUP_KINDS:
            for person_id in curators:
                put((kind, group_id), person_id, True)

    def in_group_chats(kind, rows):
        for group_id, person_id in rows:
            put((kind, group_id), person_id, False)

    in_group_chats(
        Chat.Kind.GROUP,
        Student.objects.filter(
            organization=organization, is_active=True, group__is_active=True
        ).values_list("group_id", "person_id"),
    )
    in_group_chats(
        Chat.Kind.PARENTS,
        Guardian.children.through.objects.filter(
            guardian__organization=organization,
            guardian__is_active=True,
            student__is_active=True,
            student__group__is_active=True,
        )
        .values_list("student__group_id", "guardian__person_id")
        .distinct(),
    )
    return wanted


def _plan(organization: Organization, now: dt.datetime) -> tuple[_Plan, dict]:
    wanted = _wanted_members(organization)
    groups = dict(
        Group.objects.filter(organization=organization, is_active=True).values_list("pk", "name")
    )
    chats = {
        (kind, group_id): (pk, title, deleted_at)
        for pk, kind, group_id, title, deleted_at in Chat.objects.filter(organization=organization)
        .mandatory()
        .values_list("pk", "kind", "group_id", "title", "deleted_at")
    }
    plan = _Plan()
    # A group's chats appear once it has a curator (F11) and stay while the group is active:
    # a curator's leave must not wipe a chat of twenty-five students.
    live_keys = {(Chat.Kind.TEACHERS, None)}
    for group_id in groups:
        for kind in Chat.GROUP_KINDS:
            key = (kind, group_id)
            existing = chats.get(key)
            has_curator = any(wanted.get(key, {}).values())
            if has_curator or (existing and existing[2] is None):
                live_keys.add(key)

    key_of_pk: dict[int, tuple] = {}
    for key in live_keys:
        title = mandatory_title(key[0], groups.get(key[1]))
        existing = chats.get(key)
        if existing is None:
            plan.create.append(
                Chat(
                    organization=organization,
                    kind=key[0],
                    group_id=key[1],
                    title=title,
                    created_at=now,
                    changed_at=now,
                )
            )
            continue
        pk, current_title, deleted_at = existing
        key_of_pk[pk] = key
        if deleted_at is not None:
            plan.restore.append(pk)
            plan.touched.add(pk)
        if current_title != title:
            plan.rename.append(Chat(pk=pk, title=title, changed_at=now))
            plan.touched.add(pk)
    doomed = {
        pk
        for key, (pk, _, deleted_at) in chats.items()
        if deleted_at is None and key not in live_keys
    }
    plan.delete = sorted(doomed)
    plan.touched.update(doomed)

    seen: set[tuple[int, int]] = set()
    for pk, chat_id, person_id, is_admin in (
        ChatMember.objects.filter(
            chat__organization=organization, chat__kind__in=Chat.MANDATORY_KINDS
        )
        .values_list("pk", "chat_id", "person_id", "is_admin")
        .iterator(chunk_size=BATCH)
    ):
        if chat_id in doomed:
            plan.live_members += 1
            plan.removed_with_deleted_chats += 1
            continue
        key = key_of_pk.get(chat_id)
        if key is None:
            continue  # a deleted chat that stays deleted keeps its members as history
        alive = chats[key][2] is None
        plan.live_members += alive
        seen.add((chat_id, person_id))
        want = wanted.get(key, {})
        if person_id not in want:
            plan.remove.append(pk)
            plan.removed_from_live_chats += alive
            plan.touched.add(chat_id)
        elif want[person_id] != is_admin:
            (plan.make_admin if want[person_id] else plan.make_member).append(pk)
            plan.touched.add(chat_id)
    for pk, key in key_of_pk.items():
        for person_id, admin in wanted.get(key, {}).items():
            if (pk, person_id) not in seen:
                plan.add.append((pk, person_id, admin))
                plan.touched.add(pk)
    # Members of chats created tonight are keyed by the chat object until it has a pk.
    new_members = {id(chat): wanted.get((chat.kind, chat.group_id), {}) for chat in plan.create}
    return plan, new_members


def rebuild_mandatory_chats(
    organization: Organization,
    *,
    now: dt.datetime | None = None,
    threshold: float | None = None,
) -> RebuildRun:
    """F13: make the college's mandatory chats match its directory, in one transaction.

    Idempotent; B2 stops it, changing nothing, when it would remove more than `threshold`
    of the college's mandatory members. Concurrent runs for one college queue on its row.
    """
    now = now or timezone.now()
    threshold = settings.MASS_REMOVAL_THRESHOLD if threshold is None else threshold
    run = RebuildRun(organization=organization, started_at=now)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        plan, new_members = _plan(organization, now)
        if plan.live_members and plan.removals / plan.live_members > threshold:
            run.status = RebuildRun.Status.STOPPED
            run.message = (
                f"Пересборка остановлена: она убрала бы {plan.removals} из {plan.live_members} "
                f"участников обязательных чатов ({plan.removals / plan.live_members:.0%}), больше "
                f"порога {threshold:.0%} (MASS_REMOVAL_THRESHOLD). Чаты оставлены как были. "
                "Проверьте справочник (последний импорт): если выбытие верно, поднимите порог "
                "на один запуск."
            )
            run.finished_at = timezone.now()
            run.save()
            return run
        _apply(plan, new_members, now, run)
        run.status = RebuildRun.Status.UNCHANGED if plan.empty else RebuildRun.Status.APPLIED
        run.finished_at = timezone.now()
        run.save()
    return run


def _apply(plan: _Plan, new_members: dict, now: dt.datetime, run: RebuildRun) -> None:
    Chat.objects.bulk_create(plan.create, batch_size=BATCH)
    for chunk in _chunks(plan.restore):
        Chat.objects.filter(pk__in=chunk).update(deleted_at=None)
    Chat.objects.bulk_update(plan.rename, ["title", "changed_at"], batch_size=BATCH)
    for chunk in _chunks(plan.delete):
        Chat.objects.filter(pk__in=chunk).update(deleted_at=now)

    rows = [
        ChatMember(chat_id=chat_id, person_id=person_id, is_admin=admin, added_at=now)
        for chat_id, person_id, admin in plan.add
    ]
    for chat in plan.create:
        rows.extend(
            ChatMember(chat_id=chat.pk, person_id=person_id, is_admin=admin, added_at=now)
            for person_id, admin in new_members[id(chat)].items()
        )
    ChatMember.objects.bulk_create(rows, batch_size=BATCH)
    for chunk in _chunks(plan.remove):
        ChatMember.objects.filter(pk__in=chunk).delete()
    for pks, admin in ((plan.make_admin, True), (plan.make_member, False)):
        for chunk in _chunks(pks):
            ChatMember.objects.filter(pk__in=chunk).update(is_admin=admin)
    touched = sorted(plan.touched)
    for chunk in _chunks(touched):
        Chat.objects.filter(pk__in=chunk).update(changed_at=now)

    run.chats_created = len(plan.create)
    run.chats_restored = len(plan.restore)
    run.chats_renamed = len(plan.rename)
    run.chats_deleted = len(plan.delete)
    run.members_added = len(rows)
    run.members_removed = len(plan.remove)
    run.admins_changed = len(plan.make_admin) + len(plan.make_member)
