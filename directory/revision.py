"""The college's roster revision and change log: kept by the database on every change to what
decides who belongs to the mandatory chats (F11) — staff, groups and their curators, students,
guardians and their children.

* `directory_organization.revision` goes up. The nightly rebuild
  (epos_chats.services.rebuild_mandatory_chats) records the revision it brought the chats in
  line with; when the counter has not moved since, the college's chats cannot differ from its
  directory and the rebuild ends at once.
* `directory_rosterchange` gets the people whose memberships the change may move (a moved
  student and the student's parents, a curator, a parent whose children changed), or a row
  without a person when the change reaches a whole group. The rebuild then compares only
  those people's memberships, and clears the log.

Triggers, not the code that writes the directory, so nothing gets past them: the import's bulk
statements, Django admin, a cascade from a deleted person, an SQL fix by hand. Mandatory chats
themselves are written by the rebuild alone (F12 locks them everywhere else), so they need no
trigger. PostgreSQL gets one statement-level trigger per table and event, reading the
transition tables (a bulk UPDATE of 10 000 students is one INSERT … SELECT into the log);
SQLite, the embedded default, gets row-level triggers. Updates that leave the watched columns
as they were (an import rewriting the same values) change nothing.

The migrations that install the triggers call `install`/`uninstall`; keep their output stable.
"""

from __future__ import annotations

from dataclasses import dataclass

ORGANIZATION = "directory_organization"
LOG = "directory_rosterchange"


@dataclass(frozen=True)
class Watched:
    table: str
    # SELECT of (organization_id, person_id) from the rows of `{rows}`, a relation with the
    # `keys` columns: who may have moved. A NULL person means the whole college.
    changes: str
    keys: tuple[str, ...]
    # Columns whose change matters; None for link tables, where every change matters.
    columns: tuple[str, ...] | None
    # Whether the change may create, restore, rename or delete chats, not just move people:
    # groups, their curators and staff (a curator's leave or return) do.
    reaches_chats: bool = False


_OWN = "SELECT r.organization_id, r.person_id FROM {rows} r"

WATCHED = (
    Watched(
        "directory_staffmember",
        _OWN,
        ("organization_id", "person_id"),
        ("organization_id", "person_id", "is_active", "is_admin"),
        reaches_chats=True,
    ),
    # A group's name makes its chats' titles, its state makes them live: the whole college.
    Watched(
        "directory_group",
        "SELECT r.organization_id, CAST(NULL AS BIGINT) AS person_id FROM {rows} r",
        ("organization_id",),
        ("organization_id", "name", "is_active"),
        reaches_chats=True,
    ),
    # A student takes their parents along into the group's parents' chat.
    Watched(
        "directory_student",
        _OWN + " UNION ALL SELECT gu.organization_id, gu.person_id FROM {rows} r"
        " JOIN directory_guardian_children gch ON gch.student_id = r.id"
        " JOIN directory_guardian gu ON gu.id = gch.guardian_id",
        ("id", "organization_id", "person_id"),
        ("organization_id", "person_id", "group_id", "is_active"),
    ),
    Watched(
        "directory_guardian",
        _OWN,
        ("organization_id", "person_id"),
        ("organization_id", "person_id", "is_active"),
    ),
    # A curator makes a group's chats (the group's college decides) and is their admin.
    Watched(
        "directory_group_curators",
        "SELECT g.organization_id, sm.person_id FROM {rows} r"
        " JOIN directory_group g ON g.id = r.group_id"
        " JOIN directory_staffmember sm ON sm.id = r.staffmember_id",
        ("group_id", "staffmember_id"),
        None,
        reaches_chats=True,
    ),
    # A parents' chat is the guardian's college's and the student's group's: both count.
    Watched(
        "directory_guardian_children",
        "SELECT gu.organization_id, gu.person_id FROM {rows} r"
        " JOIN directory_guardian gu ON gu.id = r.guardian_id"
        " UNION ALL SELECT s.organization_id, gu.person_id FROM {rows} r"
        " JOIN directory_guardian gu ON gu.id = r.guardian_id"
        " JOIN directory_student s ON s.id = r.student_id",
        ("guardian_id", "student_id"),
        None,
    ),
)


def _record(changes: str, reaches_chats: bool) -> list[str]:
    """The two statements of a trigger: raise the revision, log the people."""
    return [
        f"UPDATE {ORGANIZATION} SET revision = revision + 1 "
        f"WHERE id IN (SELECT x.organization_id FROM ({changes}) x)",
        f"INSERT INTO {LOG} (organization_id, person_id, reaches_chats) "
        f"SELECT DISTINCT x.organization_id, x.person_id, {_BOOLEAN[reaches_chats]} "
        f"FROM ({changes}) x",
    ]


_BOOLEAN = {True: "1 = 1", False: "1 = 0"}  # a boolean in PostgreSQL and SQLite alike


def _changed(columns: tuple[str, ...] | None, old: str, new: str) -> str:
    if columns is None:
        return "1 = 1"
    return " OR ".join(f"{old}.{c} IS DISTINCT FROM {new}.{c}" for c in columns)


def _postgresql(watched: Watched) -> tuple[list[str], list[str]]:
    changed = _changed(watched.columns, "o", "n")
    events = {
        "insert": ("NEW TABLE AS new_rows", watched.changes.format(rows="new_rows")),
        "delete": ("OLD TABLE AS old_rows", watched.changes.format(rows="old_rows")),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            " UNION ALL ".join(
                watched.changes.format(
                    rows=f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
                    f"WHERE {changed})"
                )
                for side in ("o", "n")
            ),
        ),
    }
    install, uninstall = [], []
    for event, (tables, changes) in events.items():
        name = f"{watched.table}_revision_{event}"
        body = "; ".join(_record(changes, watched.reaches_chats))
        install.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{body}; RETURN NULL; END $$"
        )
        install.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {watched.table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
        uninstall.append(f"DROP TRIGGER IF EXISTS {name} ON {watched.table}")
        uninstall.append(f"DROP FUNCTION IF EXISTS {name}()")
    return install, uninstall


def _sqlite(watched: Watched) -> tuple[list[str], list[str]]:
    def changes(side: str) -> str:
        row = ", ".join(f"{side}.{key} AS {key}" for key in watched.keys)
        return watched.changes.format(rows=f"(SELECT {row})")

    install, uninstall = [], []
    for event, sides in (("insert", ("NEW",)), ("delete", ("OLD",)), ("update", ("OLD", "NEW"))):
        name = f"{watched.table}_revision_{event}"
        when = f" WHEN {_changed(watched.columns, 'OLD', 'NEW')}" if event == "update" else ""
        body = "; ".join(_record(" UNION ALL ".join(map(changes, sides)), watched.reaches_chats))
        install.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {watched.table} "
            f"FOR EACH ROW{when} BEGIN {body}; END"
        )
        uninstall.append(f"DROP TRIGGER IF EXISTS {name}")
    return install, uninstall


def statements(vendor: str) -> tuple[list[str], list[str]]:
    """(install, uninstall) SQL statements for this database vendor."""
    build = {"postgresql": _postgresql, "sqlite": _sqlite}.get(vendor)
    if build is None:
        raise NotImplementedError(f"Ревизия справочника не умеет база {vendor}.")
    install, uninstall = [], []
    for watched in WATCHED:
        i, u = build(watched)
        install += i
        uninstall += u
    return install, uninstall


def install(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor)[0]:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor)[1]:
        schema_editor.execute(sql)
