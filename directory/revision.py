"""The college's roster revision: a counter the database raises on every change to what decides
who belongs to the mandatory chats (F11) — staff, groups and their curators, students,
guardians and their children.

The nightly rebuild (epos_chats.services.rebuild_mandatory_chats) records the revision it
brought the chats in line with; when the counter has not moved since, the college's chats
cannot differ from its directory and the rebuild ends at once. The counter is kept by triggers,
not by the code that writes the directory, so nothing gets past it: the import's bulk
statements, Django admin, a cascade from a deleted person, an SQL fix by hand. Mandatory chats
themselves are written by the rebuild alone (F12 locks them everywhere else), so they need no
trigger.

PostgreSQL gets one statement-level trigger per table and event, reading the transition tables
(a bulk UPDATE of 10 000 students raises each college's counter once, in one statement);
SQLite, the embedded default, gets row-level triggers. Updates that leave the watched columns
as they were (an import rewriting the same values) raise nothing.

The migrations that install the triggers call `install`/`uninstall`; keep their output stable.
"""

from __future__ import annotations

from dataclasses import dataclass

ORGANIZATION = "directory_organization"


@dataclass(frozen=True)
class Watched:
    table: str
    # SELECT of organization ids from the rows of `{rows}`, a relation with the `keys` columns.
    organizations: str
    keys: tuple[str, ...]
    # Columns whose change matters; None for link tables, where every change matters.
    columns: tuple[str, ...] | None


_OWN = "SELECT r.organization_id FROM {rows} r"

WATCHED = (
    Watched(
        "directory_staffmember",
        _OWN,
        ("organization_id",),
        ("organization_id", "person_id", "is_active", "is_admin"),
    ),
    Watched(
        "directory_group",
        _OWN,
        ("organization_id",),
        ("organization_id", "name", "is_active"),
    ),
    Watched(
        "directory_student",
        _OWN,
        ("organization_id",),
        ("organization_id", "person_id", "group_id", "is_active"),
    ),
    Watched(
        "directory_guardian",
        _OWN,
        ("organization_id",),
        ("organization_id", "person_id", "is_active"),
    ),
    Watched(
        "directory_group_curators",
        "SELECT g.organization_id FROM {rows} r JOIN directory_group g ON g.id = r.group_id",
        ("group_id",),
        None,
    ),
    # A parents' chat is the guardian's college's and the student's group's: both count.
    Watched(
        "directory_guardian_children",
        "SELECT g.organization_id FROM {rows} r JOIN directory_guardian g ON g.id = r.guardian_id"
        " UNION SELECT s.organization_id FROM {rows} r"
        " JOIN directory_student s ON s.id = r.student_id",
        ("guardian_id", "student_id"),
        None,
    ),
)

_RAISE = f"UPDATE {ORGANIZATION} SET revision = revision + 1 WHERE id IN ({{organizations}})"


def _changed(columns: tuple[str, ...] | None, old: str, new: str) -> str:
    if columns is None:
        return "1 = 1"
    return " OR ".join(f"{old}.{c} IS DISTINCT FROM {new}.{c}" for c in columns)


def _postgresql(watched: Watched) -> tuple[list[str], list[str]]:
    changed = _changed(watched.columns, "o", "n")
    events = {
        "insert": ("NEW TABLE AS new_rows", watched.organizations.format(rows="new_rows")),
        "delete": ("OLD TABLE AS old_rows", watched.organizations.format(rows="old_rows")),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            " UNION ".join(
                watched.organizations.format(
                    rows=f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
                    f"WHERE {changed})"
                )
                for side in ("o", "n")
            ),
        ),
    }
    install, uninstall = [], []
    for event, (tables, organizations) in events.items():
        name = f"{watched.table}_revision_{event}"
        install.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{_RAISE.format(organizations=organizations)}; RETURN NULL; END $$"
        )
        install.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {watched.table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
        uninstall.append(f"DROP TRIGGER IF EXISTS {name} ON {watched.table}")
        uninstall.append(f"DROP FUNCTION IF EXISTS {name}()")
    return install, uninstall


def _sqlite(watched: Watched) -> tuple[list[str], list[str]]:
    def organizations(side: str) -> str:
        row = ", ".join(f"{side}.{key} AS {key}" for key in watched.keys)
        return watched.organizations.format(rows=f"(SELECT {row})")

    install, uninstall = [], []
    for event, sides in (("insert", ("NEW",)), ("delete", ("OLD",)), ("update", ("OLD", "NEW"))):
        name = f"{watched.table}_revision_{event}"
        when = f" WHEN {_changed(watched.columns, 'OLD', 'NEW')}" if event == "update" else ""
        raise_ = _RAISE.format(organizations=" UNION ".join(map(organizations, sides)))
        install.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {watched.table} "
            f"FOR EACH ROW{when} BEGIN {raise_}; END"
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
