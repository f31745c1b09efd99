"""Every change to chats goes through here: the nightly rebuild of mandatory chats (F11, F13)
and the guard that keeps mandatory chats out of people's hands (F12)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from directory.models import (
    Group,
    Guardian,
    Organization,
    Person,
    RosterChange,
    StaffMember,
    Student,
)
from epos_chats import audit
from epos_chats.access import may_create_chats, may_manage
from epos_chats.models import AuditEvent, Chat, ChatMember, RebuildRun

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
    live_members: int = 0  # counted for B2 only when something leaves, see _weigh
    # The chats whose members B2 weighs removals against: live and doomed ones (None: every
    # live mandatory chat of the college).
    weighed: set[int] | None = None
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


@dataclass(frozen=True)
class _Logged:
    """The people of a college's change log, as a condition on a person column: on
    PostgreSQL one array read with the log's counts (`_since_last_rebuild`), so the comparison
    has no subquery of the log to plan in each of its five branches — planning was half its
    time; elsewhere the subquery."""

    organization_id: int
    people: list[int] | None  # None: read the log in the query itself

    def condition(self, column: str) -> str:
        if self.people is not None:
            return f"{column} = ANY(%s)"
        return (
            f"{column} IN (SELECT rc.person_id FROM {RosterChange._meta.db_table} rc "
            "WHERE rc.organization_id = %s)"
        )

    @property
    def params(self) -> list:
        return [self.people] if self.people is not None else [self.organization_id]


def wanted_membership_sql(
    condition: str, params: list, *, logged: _Logged | None = None
) -> tuple[str, list]:
    """Who belongs to each mandatory chat by the directory, as one UNION query.

    Rows: (organization_id, kind, group_id, person_id, is_admin), one per chat key and person
    (a parent of two students of a group comes once; admin wins); `condition` (e.g.
    ``"= %s"``) is applied to the organization of every branch, with `params` for each. The
    teachers' chat holds every active staff member (OO admins as chat admins); a group's two
    chats hold its curators as admins, and its students, or the parents of its students.
    Only groups of the college give group chats, so every branch starts from the college's
    own rows (and its indexes), never from the region's link tables. `logged` keeps only the
    people in the college's change log (directory.RosterChange). Portable SQL: PostgreSQL and
    SQLite run it alike.
    """
    staff, group = StaffMember._meta.db_table, Group._meta.db_table
    student, guardian = Student._meta.db_table, Guardian._meta.db_table
    curators = Group.curators.through._meta.db_table
    children = Guardian.children.through._meta.db_table

    def only(alias: str) -> str:
        return f"AND {logged.condition(f'{alias}.person_id')}" if logged else ""

    only_params = logged.params if logged else []

    sql = f"""
        SELECT w.organization_id, w.kind, w.group_id, w.person_id, MAX(w.admin) = 1 AS is_admin
        FROM (
            SELECT sm.organization_id, '{Chat.Kind.TEACHERS.value}' AS kind, NULL AS group_id,
                   sm.person_id, CASE WHEN sm.is_admin THEN 1 ELSE 0 END AS admin
            FROM {staff} sm
            WHERE sm.is_active AND sm.organization_id {condition} {only("sm")}
            UNION ALL
            SELECT g.organization_id, k.kind, g.id, sm.person_id, 1
            FROM {curators} gc
            JOIN {group} g ON g.id = gc.group_id
            JOIN {staff} sm ON sm.id = gc.staffmember_id
            CROSS JOIN (
                SELECT '{Chat.Kind.GROUP.value}' AS kind
                UNION ALL SELECT '{Chat.Kind.PARENTS.value}'
            ) k
            WHERE g.is_active AND sm.is_active AND g.organization_id {condition} {only("sm")}
            UNION ALL
            SELECT s.organization_id, '{Chat.Kind.GROUP.value}', s.group_id, s.person_id, 0
            FROM {student} s
            JOIN {group} g ON g.id = s.group_id
            WHERE s.is_active AND g.is_active AND s.organization_id {condition}
              AND g.organization_id {condition} {only("s")}
            UNION ALL
            SELECT gu.organization_id, '{Chat.Kind.PARENTS.value}', st.group_id, gu.person_id, 0
            FROM {group} g
            JOIN {student} st ON st.group_id = g.id
            JOIN {children} gch ON gch.student_id = st.id
            JOIN {guardian} gu ON gu.id = gch.guardian_id
            WHERE gu.is_active AND st.is_active AND g.is_active AND gu.organization_id {condition}
              AND g.organization_id {condition} {only("gu")}
        ) w
        GROUP BY w.organization_id, w.kind, w.group_id, w.person_id
    """
    # The organization's condition once in the first two branches, twice in the last two;
    # each branch ends with the log's.
    return sql, [
        *params,
        *only_params,
        *params,
        *only_params,
        *params,
        *params,
        *only_params,
        *params,
        *params,
        *only_params,
    ]


def _active_groups(organization: Organization) -> dict[int, tuple[str, bool]]:
    """The college's active groups: pk → (name, has an active curator — what gives a group
    its chats). Joined from the college's groups, so the plan never reads the region's
    curators (an EXISTS here is hashed over all of them)."""
    group, staff = Group._meta.db_table, StaffMember._meta.db_table
    curators = Group.curators.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT g.id, g.name, COUNT(sm.id) FROM {group} g
            LEFT JOIN {curators} gc ON gc.group_id = g.id
            LEFT JOIN {staff} sm ON sm.id = gc.staffmember_id AND sm.is_active
            WHERE g.organization_id = %s AND g.is_active
            GROUP BY g.id, g.name
            """,
            [organization.pk],
        )
        return {pk: (name, curators > 0) for pk, name, curators in cursor}


def _in(column: str, ids) -> tuple[str, list]:
    """`column` is one of `ids`: one array parameter on PostgreSQL (a short query text to
    parse and send however many), a list of placeholders elsewhere."""
    ids = sorted(ids)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def _membership_difference(
    organization: Organization, chat_ids: set[int] | None, *, logged: _Logged | None
) -> list[tuple[int | None, int, int, bool | None]]:
    """How the members of these mandatory chats (None: every live one of the college) differ
    from the directory — all of them, or only the people in the college's change log
    (`logged`).

    Rows (member pk or None, chat, person, wanted admin or None): a missing member has no pk,
    a member who should go has no wanted admin, and a member whose admin right is wrong has
    both. Compared in SQL, so only the differences reach Python.
    """
    chat, member = Chat._meta.db_table, ChatMember._meta.db_table
    if chat_ids is None:
        kinds = ", ".join(f"'{kind.value}'" for kind in Chat.MANDATORY_KINDS)
        chosen = f"organization_id = %s AND kind IN ({kinds}) AND deleted_at IS NULL"
        chosen_params = [organization.pk]
    elif not chat_ids:
        return []
    else:
        chosen, chosen_params = _in("id", chat_ids)
    wanted, params = wanted_membership_sql("= %s", [organization.pk], logged=logged)
    people, people_params = "", []
    if logged:
        people, people_params = f"AND {logged.condition('m.person_id')}", logged.params
    if connection.vendor == "postgresql":
        compare = """
            SELECT cur.id, COALESCE(want.chat_id, cur.chat_id),
                   COALESCE(want.person_id, cur.person_id), want.is_admin
            FROM want FULL JOIN cur
                ON cur.chat_id = want.chat_id AND cur.person_id = want.person_id
            WHERE cur.id IS NULL OR want.chat_id IS NULL OR cur.is_admin <> want.is_admin
        """
    else:  # SQLite before 3.39 has no FULL JOIN
        compare = """
            SELECT cur.id, want.chat_id, want.person_id, want.is_admin
            FROM want LEFT JOIN cur
                ON cur.chat_id = want.chat_id AND cur.person_id = want.person_id
            WHERE cur.id IS NULL OR cur.is_admin <> want.is_admin
            UNION ALL
            SELECT cur.id, cur.chat_id, cur.person_id, NULL
            FROM cur
            WHERE NOT EXISTS (
                SELECT 1 FROM want
                WHERE want.chat_id = cur.chat_id AND want.person_id = cur.person_id
            )
        """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
        WITH c AS (
            SELECT id, kind, group_id, deleted_at FROM {chat} WHERE {chosen}
        ), want AS (
            SELECT c.id AS chat_id, w.person_id, w.is_admin
            FROM ({wanted}) w JOIN c ON {_SAME_KEY}
        ), cur AS (
            SELECT m.id, m.chat_id, m.person_id, m.is_admin
            FROM {member} m JOIN c ON c.id = m.chat_id {people}
        )
        {compare}
        """,
            [*chosen_params, *params, *people_params],
        )
        return [
            (pk, chat_id, person_id, None if want is None else bool(want))
            for pk, chat_id, person_id, want in cursor
        ]


def _count_members(chat_ids) -> int:
    if not chat_ids:
        return 0
    where, params = _in("chat_id", chat_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {ChatMember._meta.db_table} WHERE {where}", params)
        return cursor.fetchone()[0]


def _weigh(organization: Organization, plan: _Plan, threshold: float) -> int:
    """B2's whole: the members of the chats the plan takes people from (live and doomed).

    Counted exactly when the removals could pass the threshold; otherwise only as far as it
    takes to show they do not — a night that moves a few dozen people of a college reads a
    few hundred rows, not every membership.
    """
    enough = math.floor(plan.removals / threshold) + 1 if threshold > 0 else None
    chat, member = Chat._meta.db_table, ChatMember._meta.db_table
    if plan.weighed is None:
        kinds = ", ".join(f"'{kind.value}'" for kind in Chat.MANDATORY_KINDS)
        where = f"c.organization_id = %s AND c.kind IN ({kinds}) AND c.deleted_at IS NULL"
        params = [organization.pk]
    elif not plan.weighed:
        return 0
    else:
        where, params = _in("c.id", plan.weighed)
    limit = "" if enough is None else f"LIMIT {int(enough)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {member} m JOIN {chat} c ON c.id = m.chat_id "
            f"WHERE {where} {limit}) x",
            params,
        )
        return cursor.fetchone()[0]


def _plan(
    organization: Organization,
    now: dt.datetime,
    *,
    logged: _Logged | None,
    chats_may_change: bool,
) -> _Plan:
    if logged and not chats_may_change:
        # Only students and parents moved: the set of chats, their titles and who curates
        # them are as the last rebuild left them, so only the logged people are compared.
        plan = _Plan()
        _take_differences(plan, organization, None, None, logged=logged)
        return plan
    groups = _active_groups(organization)
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
            if groups[group_id][1] or (existing and existing[2] is None):
                live_keys.add(key)

    kept: dict[int, tuple] = {}  # pk → key of every existing chat that stays or comes back
    for key in live_keys:
        title = mandatory_title(key[0], groups[key[1]][0] if key[1] else None)
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
        kept[pk] = key
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

    # A deleted chat that stays deleted keeps its members as history and counts for nothing;
    # a doomed chat keeps them too, but they leave the messenger: B2 counts them.
    alive = {pk for pk, key in kept.items() if chats[key][2] is None}
    # A chat back from the dead is compared whole: the log holds only tonight's people.
    logged = None if plan.restore else logged
    plan.removed_with_deleted_chats = _count_members(sorted(doomed))
    plan.weighed = alive | doomed
    _take_differences(plan, organization, set(kept), alive, logged=logged)
    return plan


def _take_differences(
    plan: _Plan,
    organization: Organization,
    chat_ids: set[int] | None,
    alive: set[int] | None,
    *,
    logged: _Logged | None,
) -> None:
    """Put the membership differences of these chats (None: every live one; `alive` of them
    not deleted, None: all) into the plan, for everyone or the `logged` people only."""
    differences = _membership_difference(organization, chat_ids, logged=logged)
    for pk, chat_id, person_id, wanted_admin in differences:
        plan.touched.add(chat_id)
        if pk is None:
            plan.add.append((chat_id, person_id, wanted_admin))
        elif wanted_admin is None:
            plan.remove.append(pk)
            plan.removed_from_live_chats += alive is None or chat_id in alive
        else:
            (plan.make_admin if wanted_admin else plan.make_member).append(pk)


def _lock(organization: Organization) -> int:
    """Lock the college's row for the rebuild and read its directory revision.

    The lock queues concurrent rebuilds of the college and holds back the directory
    triggers' raise of the revision: what the plan reads is what this revision stands for.
    On PostgreSQL the same statement lets the commit skip the wait for the WAL flush, which
    at a hundred colleges a night was most of the time (bench/README.md): the rebuild is
    idempotent, so a commit lost in a server crash is redone by the next run.
    """
    table = Organization._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT revision, set_config('synchronous_commit', 'off', true) FROM {table} "
                "WHERE id = %s FOR UPDATE",
                [organization.pk],
            )
        else:  # SQLite: the transaction itself holds the database
            cursor.execute(f"SELECT revision FROM {table} WHERE id = %s", [organization.pk])
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class _Since:
    """What happened since the college's chats last matched its directory."""

    revision: int | None  # the directory revision they matched; None: never (or not known)
    logged: int  # rows in the change log
    whole: bool  # a change reached a whole group
    chats: bool  # a change may create, restore, rename or delete chats
    people: list[int] | None = None  # the logged people (PostgreSQL only)


def _since_last_rebuild(organization: Organization) -> _Since:
    run, log = RebuildRun._meta.db_table, RosterChange._meta.db_table
    people, people_params = "NULL", []
    if connection.vendor == "postgresql":  # see _Logged
        # Only after a run that matched the directory: before the first one the log holds the
        # whole college (its import) and the comparison takes everyone anyway.
        people = (
            f"CASE WHEN EXISTS (SELECT 1 FROM {run} r WHERE r.organization_id = %s"
            " AND r.status IN (%s, %s)) THEN ("
            f"SELECT COALESCE(array_agg(DISTINCT person_id), '{{}}') FROM {log} "
            "WHERE organization_id = %s AND person_id IS NOT NULL) END"
        )
        people_params = [
            organization.pk,
            RebuildRun.Status.APPLIED.value,
            RebuildRun.Status.UNCHANGED.value,
            organization.pk,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT (
                SELECT r.revision FROM {run} r
                WHERE r.organization_id = %s AND r.status IN (%s, %s)
                ORDER BY r.id DESC LIMIT 1
            ),
            (SELECT COUNT(*) FROM {log} WHERE organization_id = %s),
            (SELECT COUNT(*) FROM {log} WHERE organization_id = %s AND person_id IS NULL),
            (SELECT COUNT(*) FROM {log} WHERE organization_id = %s AND reaches_chats),
            {people}
            """,
            [
                organization.pk,
                RebuildRun.Status.APPLIED.value,
                RebuildRun.Status.UNCHANGED.value,
                organization.pk,
                organization.pk,
                organization.pk,
                *people_params,
            ],
        )
        revision, logged, whole, chats, people = cursor.fetchone()
    return _Since(revision, logged, bool(whole), bool(chats), people)


def rebuild_mandatory_chats(
    organization: Organization,
    *,
    now: dt.datetime | None = None,
    threshold: float | None = None,
    full: bool = False,
) -> RebuildRun:
    """F13: make the college's mandatory chats match its directory, in one transaction.

    Idempotent; B2 stops it, changing nothing, when it would remove more than `threshold`
    of the college's mandatory members. Concurrent runs for one college queue on its row.
    A college whose directory revision (directory/revision.py) has not moved since its last
    rebuild is unchanged without a look at its chats; when it has, only the people in the
    college's change log are compared, unless a change reached a whole group (or `full`).
    The membership is compared in set-based SQL: the rows that differ are all that reach
    Python, and a new chat's members go in with one INSERT … SELECT.
    """
    now = now or timezone.now()
    threshold = settings.MASS_REMOVAL_THRESHOLD if threshold is None else threshold
    run = RebuildRun(organization=organization, started_at=now)
    with transaction.atomic():
        run.revision = _lock(organization)
        since = _since_last_rebuild(organization)
        if not full and run.revision == since.revision:
            run.status = RebuildRun.Status.UNCHANGED
            run.finished_at = timezone.now()
            run.save()
            return run
        # The log holds every change since the last run that matched the directory (that
        # run emptied it); without such a run, or with a change to a whole group, all count.
        scoped = not full and since.revision is not None and since.logged and not since.whole
        logged = _Logged(organization.pk, since.people) if scoped else None
        plan = _plan(organization, now, logged=logged, chats_may_change=since.chats)
        if plan.removals:
            plan.live_members = _weigh(organization, plan, threshold)
        if plan.live_members and plan.removals / plan.live_members > threshold:
            run.status = RebuildRun.Status.STOPPED
            run.revision = None
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
        _apply(organization, plan, now, run)
        if since.logged:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {RosterChange._meta.db_table} WHERE organization_id = %s",
                    [organization.pk],
                )
        run.status = RebuildRun.Status.UNCHANGED if plan.empty else RebuildRun.Status.APPLIED
        run.finished_at = timezone.now()
        run.save()
    return run


def _chat_keys(chats: list[tuple[int, str, int | None]]) -> tuple[str, list]:
    """A `WITH c(id, kind, group_id) AS (VALUES …)` of these chats: the insert joins the
    wanted membership to them by their keys without reading the chat table, so its plan does
    not depend on that table's statistics (empty on the first night)."""
    row = "(CAST(%s AS INTEGER), CAST(%s AS VARCHAR(16)), CAST(%s AS INTEGER))"
    params = [value for chat in chats for value in (chat[0], str(chat[1]), chat[2])]
    return f"WITH c(id, kind, group_id) AS (VALUES {', '.join([row] * len(chats))})", params


_SAME_KEY = "c.kind = w.kind AND COALESCE(c.group_id, 0) = COALESCE(w.group_id, 0)"


def _fill_new_chats(organization: Organization, chats: list[Chat], now: dt.datetime) -> int:
    """The members of tonight's new chats: one INSERT … SELECT, no rows through Python."""
    if not chats:
        return 0
    wanted, params = wanted_membership_sql("= %s", [organization.pk])
    keys, key_params = _chat_keys([(chat.pk, chat.kind, chat.group_id) for chat in chats])
    member = ChatMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {member} (chat_id, person_id, is_admin, added_at)
            {keys}
            SELECT c.id, w.person_id, w.is_admin, %s
            FROM ({wanted}) w
            JOIN c ON {_SAME_KEY}
            """,
            [*key_params, connection.ops.adapt_datetimefield_value(now), *params],
        )
        return cursor.rowcount


def _apply(organization: Organization, plan: _Plan, now: dt.datetime, run: RebuildRun) -> None:
    Chat.objects.bulk_create(plan.create, batch_size=BATCH)
    for chunk in _chunks(plan.restore):
        Chat.objects.filter(pk__in=chunk).update(deleted_at=None)
    Chat.objects.bulk_update(plan.rename, ["title", "changed_at"], batch_size=BATCH)
    for chunk in _chunks(plan.delete):
        Chat.objects.filter(pk__in=chunk).update(deleted_at=now)

    filled = _fill_new_chats(organization, plan.create, now)
    if plan.touched:  # every member change touches its chat: nothing touched, nothing to write
        postgresql = connection.vendor == "postgresql"
        (_write_members_postgresql if postgresql else _write_members)(plan, now)

    run.chats_created = len(plan.create)
    run.chats_restored = len(plan.restore)
    run.chats_renamed = len(plan.rename)
    run.chats_deleted = len(plan.delete)
    run.members_added = len(plan.add) + filled
    run.members_removed = len(plan.remove)
    run.admins_changed = len(plan.make_admin) + len(plan.make_member)


def _write_members_postgresql(plan: _Plan, now: dt.datetime) -> None:
    """The plan's member rows and the chats' change stamps in one statement: a night of a
    hundred colleges is a few hundred of these, and each statement cost more to send and
    plan than to run. Its parts touch different rows (a pair is either missing or extra),
    so one snapshot serves them all."""
    chats, people, admins = zip(*plan.add, strict=True) if plan.add else ((), (), ())
    member, chat = ChatMember._meta.db_table, Chat._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH added AS (
                INSERT INTO {member} (chat_id, person_id, is_admin, added_at)
                SELECT c, p, a, %(now)s
                FROM unnest(%(chats)s::bigint[], %(people)s::bigint[], %(admins)s::boolean[])
                    AS t(c, p, a)
                RETURNING 1
            ), removed AS (
                DELETE FROM {member} WHERE id = ANY(%(remove)s) RETURNING 1
            ), promoted AS (
                UPDATE {member} SET is_admin = true WHERE id = ANY(%(admin)s) RETURNING 1
            ), demoted AS (
                UPDATE {member} SET is_admin = false WHERE id = ANY(%(member)s) RETURNING 1
            )
            UPDATE {chat} SET changed_at = %(now)s WHERE id = ANY(%(touched)s)
            """,
            {
                "now": now,
                "chats": list(chats),
                "people": list(people),
                "admins": list(admins),
                "remove": plan.remove,
                "admin": plan.make_admin,
                "member": plan.make_member,
                "touched": sorted(plan.touched),
            },
        )


def _write_members(plan: _Plan, now: dt.datetime) -> None:
    """The same for SQLite, in batches under its limit of parameters a statement."""
    member, chat = ChatMember._meta.db_table, Chat._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for chunk in _chunks(plan.add):
            cursor.execute(
                f"INSERT INTO {member} (chat_id, person_id, is_admin, added_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in (*row, stamp)],
            )
        for chunk in _chunks(plan.remove):
            where, params = _in("id", chunk)
            cursor.execute(f"DELETE FROM {member} WHERE {where}", params)
        for pks, admin in ((plan.make_admin, True), (plan.make_member, False)):
            for chunk in _chunks(pks):
                where, params = _in("id", chunk)
                cursor.execute(f"UPDATE {member} SET is_admin = %s WHERE {where}", [admin, *params])
        for chunk in _chunks(sorted(plan.touched)):
            where, params = _in("id", chunk)
            cursor.execute(f"UPDATE {chat} SET changed_at = %s WHERE {where}", [stamp, *params])


# --- chats created by people (F14–F18) -----------------------------------------------------

MAX_TITLE = 255


@dataclass(frozen=True)
class Created:
    chat: Chat
    created: bool  # False when the same form was submitted twice: the first chat is returned


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ChatError("Укажите название чата.")
    if len(title) > MAX_TITLE:
        raise ChatError(f"Название чата — не длиннее {MAX_TITLE} символов (сейчас {len(title)}).")
    return title


def _people_of_college(organization: Organization, person_ids) -> set[int]:
    """Which of these people hold an active role in the college: only they may be members."""
    ids = {int(pk) for pk in person_ids}

    def role(model):
        return Exists(
            model.objects.filter(person=OuterRef("pk"), organization=organization, is_active=True)
        )

    found = set()
    for chunk in _chunks(sorted(ids)):
        found.update(
            Person.objects.filter(pk__in=chunk)
            .filter(role(StaffMember) | role(Student) | role(Guardian))
            .values_list("pk", flat=True)
        )
    return found


def _check_members(organization: Organization, members: dict[int, bool]) -> None:
    if not members:
        raise ChatError("Выберите хотя бы одного участника чата.")
    strangers = set(members) - _people_of_college(organization, members)
    if strangers:
        raise ChatError(
            "Участниками могут быть только сотрудники, обучающиеся и родители вашей организации "
            f"(не подходят: {len(strangers)})."
        )


def _touch(chat: Chat, now: dt.datetime) -> None:
    """Mark the chat for the push: its messenger state changed."""
    Chat.objects.filter(pk=chat.pk).update(changed_at=now)
    chat.changed_at = now
    _push_soon(chat)


def _push_soon(chat: Chat) -> None:
    """F28: chats go to the messenger at night, or at once with VK_SYNC_MODE=immediate."""
    if settings.VK_SYNC_MODE == "immediate" and chat.platform == Chat.Platform.VK:
        from vk_sync.tasks import enqueue_after_commit, push_chats_task

        enqueue_after_commit(push_chats_task, chat.organization_id, [chat.pk])


def _existing_for_key(request_key) -> Created | None:
    if request_key is None:
        return None
    chat = Chat.objects.filter(request_key=request_key).first()
    return Created(chat, created=False) if chat else None


def chat_create_custom(
    *,
    actor,
    roles,
    organization: Organization,
    title: str,
    members: dict[int, bool],
    request_key=None,
    platform: str = Chat.Platform.VK,
) -> Created:
    """F15: a «Произвольный чат». With no admin marked, the creator becomes its admin."""
    if platform == Chat.Platform.VK and not may_create_chats(roles):
        raise ChatError("Создавать чаты могут администратор ОО и преподаватели с группами.")
    title = _clean_title(title)
    members = {int(pk): bool(admin) for pk, admin in members.items()}
    if not members:
        raise ChatError("Выберите хотя бы одного участника чата.")
    if not any(members.values()):
        members[actor.pk] = True
    _check_members(organization, members)
    if found := _existing_for_key(request_key):
        return found
    return _create(
        actor=actor,
        organization=organization,
        kind=Chat.Kind.CUSTOM,
        platform=platform,
        title=title,
        members=members,
        request_key=request_key,
    )


def discipline_chat_title(teaching) -> str:
    title = f"{teaching.discipline.name} {teaching.group.name}"
    if teaching.students.exists():
        teachers = ", ".join(t.person.short_name for t in teaching.teachers.all())
        title += f" (подгруппа{': ' + teachers if teachers else ''})"
    return title[:MAX_TITLE]


def chat_create_discipline(
    *, actor, roles, organization: Organization, teaching, request_key=None
) -> Created:
    """F16: a chat of one group-by-discipline: its teachers (admins) and students; the
    name is derived and fixed."""
    if not may_create_chats(roles):
        raise ChatError("Создавать чаты могут администратор ОО и преподаватели с группами.")
    if teaching.organization_id != organization.pk or not teaching.is_active:
        raise ChatError("Такой группы по дисциплине нет в вашей организации.")
    if not roles.is_admin and not teaching.teachers.filter(pk=roles.staff.pk).exists():
        raise ChatError("Можно создать чат только по своей группе по дисциплине.")
    if found := _existing_for_key(request_key):
        return found
    existing = Chat.objects.alive().filter(kind=Chat.Kind.DISCIPLINE, teaching=teaching).first()
    if existing:
        raise ChatError(f"Чат по этой группе по дисциплине уже есть: «{existing.title}».")
    members = {
        pk: True
        for pk in teaching.teachers.filter(is_active=True).values_list("person_id", flat=True)
    }
    subgroup = teaching.students.filter(is_active=True)
    students = (
        subgroup if teaching.students.exists() else teaching.group.students.filter(is_active=True)
    )
    for pk in students.values_list("person_id", flat=True):
        members.setdefault(pk, False)
    if not any(members.values()):
        members[actor.pk] = True
    return _create(
        actor=actor,
        organization=organization,
        kind=Chat.Kind.DISCIPLINE,
        platform=Chat.Platform.VK,
        title=discipline_chat_title(teaching),
        members=members,
        request_key=request_key,
        teaching=teaching,
    )


def _create(*, actor, organization, kind, platform, title, members, request_key, teaching=None):
    now = timezone.now()
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                organization=organization,
                kind=kind,
                platform=platform,
                title=title,
                teaching=teaching,
                created_by=actor,
                created_at=now,
                changed_at=now,
                request_key=request_key,
            )
            ChatMember.objects.bulk_create(
                [
                    ChatMember(chat=chat, person_id=pk, is_admin=admin, added_at=now)
                    for pk, admin in members.items()
                ],
                batch_size=BATCH,
            )
            audit.record(
                actor=actor,
                organization=organization,
                action=AuditEvent.Action.CHAT_CREATED,
                obj=chat,
                after={
                    "title": title,
                    "kind": kind,
                    "members": sorted(members),
                    "admins": sorted(pk for pk, admin in members.items() if admin),
                },
            )
            _push_soon(chat)
    except IntegrityError:
        # The same form twice at once, or a second discipline chat created meanwhile.
        if found := _existing_for_key(request_key):
            return found
        raise ChatError("Такой чат уже создан. Обновите страницу «Чаты».") from None
    return Created(chat, created=True)


def _locked_for_edit(chat: Chat, actor, roles) -> Chat:
    """Re-read the chat under a row lock and check the right to edit it (F12, F17)."""
    locked = Chat.objects.select_for_update().filter(pk=chat.pk).first()
    if locked is None:
        raise ChatError("Чат не найден.")
    ensure_editable(locked)
    is_chat_admin = ChatMember.objects.filter(chat=locked, person=actor, is_admin=True).exists()
    if not may_manage(locked, roles, is_chat_admin=is_chat_admin):
        raise ChatError("Изменять чат могут администратор ОО и администраторы этого чата.")
    return locked


def chat_rename(*, actor, roles, chat: Chat, title: str) -> Chat:
    with transaction.atomic():
        chat = _locked_for_edit(chat, actor, roles)
        if chat.kind == Chat.Kind.DISCIPLINE:
            raise ChatError("Название чата «Дисциплина» задаётся группой и дисциплиной.")
        title = _clean_title(title)
        if title == chat.title:
            return chat
        before = chat.title
        now = timezone.now()
        Chat.objects.filter(pk=chat.pk).update(title=title, changed_at=now)
        chat.title, chat.changed_at = title, now
        audit.record(
            actor=actor,
            organization=chat.organization,
            action=AuditEvent.Action.CHAT_RENAMED,
            obj=chat,
            before={"title": before},
            after={"title": title},
        )
        _push_soon(chat)
    return chat


def chat_members_set(*, actor, roles, chat: Chat, members: dict[int, bool]) -> Chat:
    """F17 «Редактировать состав участников»: make the membership exactly `members`."""
    members = {int(pk): bool(admin) for pk, admin in members.items()}
    with transaction.atomic():
        chat = _locked_for_edit(chat, actor, roles)
        _check_members(chat.organization, members)
        if not any(members.values()):
            raise ChatError("В чате должен остаться хотя бы один администратор.")
        current = dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))
        added = [pk for pk in members if pk not in current]
        removed = [pk for pk in current if pk not in members]
        promoted = [pk for pk in members if pk in current and members[pk] and not current[pk]]
        demoted = [pk for pk in members if pk in current and not members[pk] and current[pk]]
        if not (added or removed or promoted or demoted):
            return chat
        now = timezone.now()
        ChatMember.objects.bulk_create(
            [
                ChatMember(chat=chat, person_id=pk, is_admin=members[pk], added_at=now)
                for pk in added
            ],
            batch_size=BATCH,
        )
        for chunk in _chunks(removed):
            ChatMember.objects.filter(chat=chat, person_id__in=chunk).delete()
        for pks, admin in ((promoted, True), (demoted, False)):
            for chunk in _chunks(pks):
                ChatMember.objects.filter(chat=chat, person_id__in=chunk).update(is_admin=admin)
        _touch(chat, now)
        audit.record(
            actor=actor,
            organization=chat.organization,
            action=AuditEvent.Action.CHAT_MEMBERS_CHANGED,
            obj=chat,
            after={
                "added": sorted(added),
                "removed": sorted(removed),
                "made_admin": sorted(promoted),
                "made_member": sorted(demoted),
            },
        )
    return chat


def chat_member_remove(*, actor, roles, chat: Chat, person_id: int) -> Chat:
    """F17: the row's «…» → «Удалить из чата»."""
    with transaction.atomic():
        locked = _locked_for_edit(chat, actor, roles)
        current = dict(ChatMember.objects.filter(chat=locked).values_list("person_id", "is_admin"))
        if person_id not in current:
            raise ChatError("Этого человека уже нет в чате.")
        del current[person_id]
        return chat_members_set(actor=actor, roles=roles, chat=locked, members=current)


def chat_admin_set(*, actor, roles, chat: Chat, person_id: int, is_admin: bool) -> Chat:
    """F17: grant or revoke «Администратор чата»; a chat keeps at least one admin."""
    with transaction.atomic():
        locked = _locked_for_edit(chat, actor, roles)
        current = dict(ChatMember.objects.filter(chat=locked).values_list("person_id", "is_admin"))
        if person_id not in current:
            raise ChatError("Этого человека нет в чате.")
        current[person_id] = is_admin
        return chat_members_set(actor=actor, roles=roles, chat=locked, members=current)


def chat_delete(*, actor, roles, chat: Chat) -> Chat:
    """F18: the chat leaves the journal; the push removes its members in the messenger, where
    the chat itself stays. Kept here (soft) with its members as history."""
    with transaction.atomic():
        return _soft_delete(_locked_for_edit(chat, actor, roles), actor)


def chat_delete_by_support(*, actor, chat: Chat) -> Chat:
    """The same deletion from Django admin, for support staff who hold no college role."""
    if not actor.is_staff:
        raise ChatError("Удалять чаты из администрирования может только поддержка.")
    with transaction.atomic():
        locked = Chat.objects.select_for_update().filter(pk=chat.pk).first()
        if locked is None:
            raise ChatError("Чат не найден.")
        ensure_editable(locked)
        return _soft_delete(locked, actor)


def _soft_delete(chat: Chat, actor) -> Chat:
    now = timezone.now()
    Chat.objects.filter(pk=chat.pk).update(deleted_at=now, changed_at=now)
    chat.deleted_at = chat.changed_at = now
    audit.record(
        actor=actor,
        organization=chat.organization,
        action=AuditEvent.Action.CHAT_DELETED,
        obj=chat,
        before={"title": chat.title},
    )
    _push_soon(chat)
    return chat
