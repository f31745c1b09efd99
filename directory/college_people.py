"""The people of each college as its participant picker lists them (`CollegePerson`), kept by
the database.

A person belongs to a college while they hold an active role in it — in «Кадры», as a
student or as a parent — and is listed under their current name. Triggers keep it so:

* on the three role tables, for every (college, person) pair a statement touches, the row
  goes when the pair has no active role left and comes when it has one;
* on people, a changed name is copied to the person's rows (the search column follows, being
  computed from them).

Triggers rather than the import's code, for the reason of directory/revision.py: nothing
gets past them — the import's bulk statements, Django admin, a cascade from a deleted
college, an SQL fix by hand. PostgreSQL gets statement-level triggers reading the transition
tables (an import of 10 000 students is one INSERT … SELECT here); SQLite, the embedded
default, row-level ones. An update that leaves the college, the person and the state of a role
as they were (a student moved to another group) changes nothing here.

The migrations that install the triggers call `install`/`uninstall`; keep their output stable.
"""

from __future__ import annotations

TABLE = "directory_collegeperson"
PERSON = "directory_person"
ROLES = ("directory_student", "directory_guardian", "directory_staffmember")
# The columns of a role that decide whether it makes its person one of the college's.
WATCHED = ("organization_id", "person_id", "is_active")
NAMES = ("last_name", "first_name", "middle_name")


def _active(pair: str) -> str:
    """Whether the (organization_id, person_id) of `pair` holds an active role."""
    return " OR ".join(
        f"EXISTS (SELECT 1 FROM {role} r WHERE r.organization_id = {pair}.organization_id"
        f" AND r.person_id = {pair}.person_id AND r.is_active)"
        for role in ROLES
    )


def _settle(pairs: str) -> list[str]:
    """The statements that bring the rows of the (organization_id, person_id) `pairs` in
    line with the roles: drop the pairs without an active role, add those with one."""
    names = ", ".join(f"p.{name}" for name in NAMES)
    return [
        f"DELETE FROM {TABLE} WHERE EXISTS (SELECT 1 FROM ({pairs}) x"
        f" WHERE x.organization_id = {TABLE}.organization_id"
        f" AND x.person_id = {TABLE}.person_id) AND NOT ({_active(TABLE)})",
        f"INSERT INTO {TABLE} (organization_id, person_id, {', '.join(NAMES)})"
        f" SELECT DISTINCT x.organization_id, x.person_id, {names}"
        f" FROM ({pairs}) x INNER JOIN {PERSON} p ON p.id = x.person_id WHERE {_active('x')}"
        " ON CONFLICT (organization_id, person_id) DO NOTHING",
    ]


def _changed(columns: tuple[str, ...], old: str, new: str) -> str:
    return " OR ".join(f"{old}.{c} IS DISTINCT FROM {new}.{c}" for c in columns)


_PAIR = "SELECT {side}.organization_id, {side}.person_id FROM {rows} {side}"


def _postgresql() -> tuple[list[str], list[str]]:
    moved = "FROM old_rows o INNER JOIN new_rows n ON n.id = o.id WHERE " + _changed(
        WATCHED, "o", "n"
    )
    events = {
        "insert": ("NEW TABLE AS new_rows", _PAIR.format(side="n", rows="new_rows")),
        "delete": ("OLD TABLE AS old_rows", _PAIR.format(side="o", rows="old_rows")),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            f"SELECT o.organization_id, o.person_id {moved}"
            f" UNION SELECT n.organization_id, n.person_id {moved}",
        ),
    }
    install, uninstall = [], []

    def trigger(name: str, table: str, event: str, tables: str, body: list[str]) -> None:
        install.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{'; '.join(body)}; RETURN NULL; END $$"
        )
        install.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
        uninstall.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        uninstall.append(f"DROP FUNCTION IF EXISTS {name}()")

    for role in ROLES:
        for event, (tables, pairs) in events.items():
            trigger(f"{role}_people_{event}", role, event, tables, _settle(pairs))
    # A column list cannot go with transition tables: every update of people fires it, and
    # the WHERE leaves the rows whose names stayed (a sign-in writes last_login).
    copied = ", ".join(f"{name} = n.{name}" for name in NAMES)
    differs = _changed(NAMES, TABLE, "n")
    trigger(
        f"{PERSON}_people_update",
        PERSON,
        "update",
        "NEW TABLE AS new_rows",
        [
            f"UPDATE {TABLE} SET {copied} FROM new_rows n"
            f" WHERE {TABLE}.person_id = n.id AND ({differs})"
        ],
    )
    return install, uninstall


def _sqlite() -> tuple[list[str], list[str]]:
    install, uninstall = [], []

    def trigger(name: str, table: str, event: str, when: str, body: list[str]) -> None:
        install.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} "
            f"FOR EACH ROW{when} BEGIN {'; '.join(body)}; END"
        )
        uninstall.append(f"DROP TRIGGER IF EXISTS {name}")

    def pair(side: str) -> str:
        return f"SELECT {side}.organization_id AS organization_id, {side}.person_id AS person_id"

    for role in ROLES:
        trigger(f"{role}_people_insert", role, "INSERT", "", _settle(pair("NEW")))
        trigger(f"{role}_people_delete", role, "DELETE", "", _settle(pair("OLD")))
        trigger(
            f"{role}_people_update",
            role,
            "UPDATE",
            f" WHEN {_changed(WATCHED, 'OLD', 'NEW')}",
            _settle(f"{pair('OLD')} UNION {pair('NEW')}"),
        )
    copied = ", ".join(f"{name} = NEW.{name}" for name in NAMES)
    trigger(
        f"{PERSON}_people_update",
        PERSON,
        f"UPDATE OF {', '.join(NAMES)}",
        f" WHEN {_changed(NAMES, 'OLD', 'NEW')}",
        [f"UPDATE {TABLE} SET {copied} WHERE person_id = NEW.id"],
    )
    return install, uninstall


def statements(vendor: str) -> tuple[list[str], list[str]]:
    """(install, uninstall) SQL statements for this database vendor."""
    build = {"postgresql": _postgresql, "sqlite": _sqlite}.get(vendor)
    if build is None:
        raise NotImplementedError(f"Людей колледжей не умеет вести база {vendor}.")
    return build()


def fill_sql() -> str:
    """Every college's people from the roles as they are (the migration's first fill)."""
    names = ", ".join(f"p.{name}" for name in NAMES)
    roles = " UNION ".join(
        f"SELECT organization_id, person_id FROM {role} WHERE is_active" for role in ROLES
    )
    return (
        f"INSERT INTO {TABLE} (organization_id, person_id, {', '.join(NAMES)})"
        f" SELECT x.organization_id, x.person_id, {names}"
        f" FROM ({roles}) x INNER JOIN {PERSON} p ON p.id = x.person_id"
    )


def install(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor)[0]:
        schema_editor.execute(sql)
    schema_editor.execute(fill_sql())


def uninstall(apps, schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor)[1]:
        schema_editor.execute(sql)
