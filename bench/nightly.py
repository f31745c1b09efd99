"""`python -m bench nightly [--scale small|region] [--json]`: the mandatory-chat rebuild of the
whole region, college by college in this process, as the 00:00 job does it.

T_full  — from no chats at all;
T_noop  — again, nothing changed;
T_churn — again after 1 % of the students moved groups and 1 % of the parents changed
          (bulk SQL updates of Student.group and of the guardians' children; the directory
          triggers log whom they moved, and the rebuild compares just those people);
T_sql   — the lower bound: one INSERT … SELECT of the same wanted membership (the region's,
          joined to the chats T_full made) into a scratch table shaped like ChatMember.
"""

from __future__ import annotations

import time

from bench.common import (
    Report,
    ensure_region,
    membership_fingerprint,
    peak_rss_mb,
    reset_chats,
    run_main,
)

CHURN = 0.01


def rebuild_region(org_ids, now=None) -> tuple[float, list]:
    from django.utils import timezone

    from directory.models import Organization
    from epos_chats.services import rebuild_mandatory_chats

    now = now or timezone.now()
    organizations = list(Organization.objects.filter(pk__in=org_ids).order_by("pk"))
    started = time.perf_counter()
    runs = [rebuild_mandatory_chats(org, now=now) for org in organizations]
    return time.perf_counter() - started, runs


def sql_lower_bound(org_ids) -> tuple[float, int]:
    """One INSERT … SELECT of the region's wanted membership into a scratch copy of
    ChatMember (its columns, defaults and indexes; no foreign keys)."""
    from django.db import connection, transaction

    from epos_chats.models import Chat, ChatMember
    from epos_chats.services import wanted_membership_sql

    wanted, params = wanted_membership_sql("= ANY(%s)", [list(org_ids)])
    chat, member = Chat._meta.db_table, ChatMember._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scratch_member")
        cursor.execute(
            f"CREATE TABLE bench_scratch_member (LIKE {member} INCLUDING DEFAULTS "
            "INCLUDING INDEXES INCLUDING IDENTITY)"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO bench_scratch_member (chat_id, person_id, is_admin, added_at)
            SELECT c.id, w.person_id, w.is_admin, now()
            FROM ({wanted}) w
            JOIN {chat} c ON c.organization_id = w.organization_id AND c.kind = w.kind
                AND c.group_id IS NOT DISTINCT FROM w.group_id AND c.deleted_at IS NULL
            """,
            params,
        )
        rows = cursor.rowcount
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_scratch_member")
    return seconds, rows


def churn(org_ids, share: float = CHURN) -> tuple[int, int]:
    """Move `share` of the active students to another group of their college and give `share`
    of the guardians another child (a student further on in the college, wrapping round) —
    one bulk SQL statement each, no ORM loop."""
    from django.db import connection, transaction

    from directory.models import Group, Guardian, Student

    student, group = Student._meta.db_table, Group._meta.db_table
    links = Guardian.children.through._meta.db_table
    every = round(1 / share)
    with transaction.atomic(), connection.cursor() as cursor:
        # The next active group of the same college (wrapping round), for every n-th student.
        cursor.execute(
            f"""
            WITH ranked AS (
                SELECT id, organization_id,
                       row_number() OVER (PARTITION BY organization_id ORDER BY id) AS n,
                       count(*) OVER (PARTITION BY organization_id) AS total
                FROM {group} WHERE is_active AND organization_id = ANY(%s)
            ), moved AS (
                SELECT s.id, nxt.id AS group_id
                FROM {student} s
                JOIN ranked cur ON cur.id = s.group_id
                JOIN ranked nxt ON nxt.organization_id = cur.organization_id
                    AND nxt.n = cur.n %% cur.total + 1
                WHERE s.is_active AND s.id %% %s = 0 AND s.organization_id = ANY(%s)
            )
            UPDATE {student} s SET group_id = moved.group_id FROM moved WHERE s.id = moved.id
            """,
            [list(org_ids), every, list(org_ids)],
        )
        moved = cursor.rowcount
        # Every n-th guardian: their children links now point at another student of the college.
        cursor.execute(
            f"""
            WITH chosen AS (
                SELECT DISTINCT ON (l.guardian_id)
                       l.id, l.guardian_id, l.student_id, s.organization_id
                FROM {links} l JOIN {student} s ON s.id = l.student_id
                WHERE l.guardian_id %% %s = 0 AND s.organization_id = ANY(%s)
                ORDER BY l.guardian_id, l.id
            ), other AS (
                SELECT ch.id, (
                    SELECT s2.id FROM {student} s2
                    WHERE s2.organization_id = ch.organization_id AND s2.id <> ch.student_id
                    ORDER BY s2.id > ch.student_id + 300 DESC, s2.id
                    LIMIT 1
                ) AS student_id
                FROM chosen ch
            )
            UPDATE {links} l SET student_id = other.student_id
            FROM other
            WHERE l.id = other.id AND other.student_id IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM {links} x
                  WHERE x.guardian_id = l.guardian_id AND x.student_id = other.student_id
              )
            """,
            [every, list(org_ids)],
        )
        changed = cursor.rowcount
    return moved, changed


def body(report: Report) -> None:
    from django.db import connection

    from directory.models import RosterChange

    org_ids = ensure_region(report.scale, report)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    # After the statistics: a chat table analyzed while empty would make PostgreSQL check the
    # new members' foreign keys by scanning it, which no first night of a real base sees.
    reset_chats()
    t_full, runs = rebuild_region(org_ids)
    members = sum(run.members_added for run in runs)
    chats = sum(run.chats_created for run in runs)
    full_result = membership_fingerprint(org_ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the lower bound gets PostgreSQL's best plan
    t_sql, sql_rows = sql_lower_bound(org_ids)
    # The day between two nights: autovacuum has long since visited the night's 240 000 new
    # rows. Done here, so it does not run beside T_noop and T_churn on a machine of two cores.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    t_noop, noop_runs = rebuild_region(org_ids)
    unchanged = sum(run.status == "unchanged" for run in noop_runs)
    moved, changed = churn(org_ids)
    logged = RosterChange.objects.filter(organization__in=org_ids)
    people, whole = logged.count(), logged.filter(person_id__isnull=True).count()
    t_churn, churn_runs = rebuild_region(org_ids)
    stopped = sum(run.status == "stopped" for run in churn_runs)
    churn_changes = sum(run.members_added + run.members_removed for run in churn_runs)
    rss = peak_rss_mb()

    report.add("колледжей", len(org_ids))
    report.add("чатов создано (T_full)", chats)
    report.add("участников добавлено (T_full)", members)
    report.add(
        "строк INSERT … SELECT (T_sql) = T_full",
        f"{sql_rows} = {full_result[0]}",
        goal="равно",
        ok=sql_rows == full_result[0] == members,
    )
    report.add("T_full", t_full, "с")
    report.add("T_sql (нижняя граница)", t_sql, "с")
    report.add("участников в секунду (T_full)", members / t_full, "1/с")
    report.add("участников в секунду (T_sql)", sql_rows / t_sql, "1/с")
    report.add("T_full / T_sql", t_full / t_sql, "×", goal="≤ 3", ok=t_full <= 3 * t_sql)
    report.add("T_noop", t_noop, "с")
    report.add("T_noop / T_full", t_noop / t_full, "×", goal="≤ 0.1", ok=t_noop <= 0.1 * t_full)
    report.add(
        "T_noop: колледжей без изменений",
        f"{unchanged}/{len(org_ids)}",
        goal="все",
        ok=unchanged == len(org_ids),
    )
    report.add("перемещено обучающихся (1 %)", moved)
    report.add("изменено связей родителей (1 %)", changed)
    report.add(
        "журнал изменений после churn: людей / «весь колледж»",
        f"{people} / {whole}",
    )
    report.add("T_churn", t_churn, "с")
    report.add("изменений участников (T_churn)", churn_changes)
    report.add("T_churn / T_full", t_churn / t_full, "×", goal="≤ 0.2", ok=t_churn <= 0.2 * t_full)
    report.add("T_churn: остановлено порогом B2", stopped, goal="0", ok=stopped == 0)
    report.add("пик памяти процесса", rss, "МБ", goal="≤ 300", ok=rss <= 300)


def main(argv: list[str]) -> int:
    return run_main("nightly", __doc__, argv, body)
