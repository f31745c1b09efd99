"""Validation of an `epos-directory/1` document into a plain snapshot, before anything is written.

Every problem is reported with its JSON path (`organizations[0].students[2].group`) and a
reason in Russian, all of them at once, so whoever prepared the file fixes it in one pass.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, field

FORMAT = "epos-directory/1"
MAX_ERRORS = 50

_CODE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class DirectoryImportError(Exception):
    """The file cannot be imported; nothing was written."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("\n".join(f"{path}: {reason}" for path, reason in errors))


@dataclass
class PersonData:
    login: str
    last_name: str
    first_name: str
    middle_name: str
    password: str | None
    path: str


@dataclass
class OrgSnapshot:
    """One organization as the file describes it; references are external ids."""

    code: str
    name: str
    short_name: str
    time_zone: str | None
    disciplines: dict[str, dict] = field(default_factory=dict)
    staff: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    students: dict[str, dict] = field(default_factory=dict)
    guardians: dict[str, dict] = field(default_factory=dict)
    teachings: dict[str, dict] = field(default_factory=dict)
    # (teaching external id, date, start) -> {"end": time}
    lessons: dict[tuple[str, dt.date, dt.time], dict] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(
            len(part)
            for part in (
                self.disciplines,
                self.staff,
                self.groups,
                self.students,
                self.guardians,
                self.teachings,
                self.lessons,
            )
        )


@dataclass
class Snapshot:
    organizations: list[OrgSnapshot]
    people: dict[str, PersonData]


class _TooManyErrors(Exception):
    pass


class _Reader:
    """Walks the document, collecting (path, reason) pairs instead of stopping at the first."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, reason: str) -> None:
        self.errors.append((path, reason))
        if len(self.errors) >= MAX_ERRORS:
            raise _TooManyErrors

    def obj(self, value, path: str) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, "ожидается объект {…}")
            return None
        return value

    def items(self, parent: dict, key: str, path: str, *, required: bool = True) -> list:
        if key not in parent:
            if required:
                self.error(f"{path}.{key}", "обязательное поле отсутствует")
            return []
        value = parent[key]
        if not isinstance(value, list):
            self.error(f"{path}.{key}", "ожидается список […]")
            return []
        return value

    def text(
        self,
        parent: dict,
        key: str,
        path: str,
        *,
        max_length: int,
        required: bool = True,
        blank: bool = False,
    ) -> str | None:
        where = f"{path}.{key}"
        if key not in parent or parent[key] is None:
            if required:
                self.error(where, "обязательное поле отсутствует")
                return None
            return ""
        value = parent[key]
        if not isinstance(value, str):
            self.error(where, "ожидается строка")
            return None
        value = value.strip()
        if not value and not blank:
            self.error(where, "поле не может быть пустым")
            return None
        if "\x00" in value:
            # PostgreSQL cannot store it, and no name or login has one.
            self.error(where, "недопустимый символ NUL (\\x00)")
            return None
        if len(value) > max_length:
            self.error(where, f"не длиннее {max_length} символов (сейчас {len(value)})")
            return None
        return value

    def ident(self, parent: dict, key: str, path: str) -> str | None:
        value = parent.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # Journals export numeric ids; they are ids all the same.
            parent = {key: value}
        return self.text(parent, key, path, max_length=100)

    def boolean(self, parent: dict, key: str, path: str) -> bool:
        value = parent.get(key, False)
        if not isinstance(value, bool):
            self.error(f"{path}.{key}", "ожидается true или false")
            return False
        return value

    def refs(
        self, parent: dict, key: str, path: str, known: dict, what: str, *, required: bool = True
    ) -> list[str] | None:
        if key not in parent and not required:
            return None
        values = self.items(parent, key, path)
        result = []
        for i, value in enumerate(values):
            where = f"{path}.{key}[{i}]"
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                self.error(where, "ожидается идентификатор (строка)")
            elif value not in known:
                self.error(where, f"неизвестная ссылка: {what} «{value}» не описан(а) в файле")
            elif value in result:
                self.error(where, f"«{value}» указан дважды")
            else:
                result.append(value)
        return result

    def ref(self, parent: dict, key: str, path: str, known: dict, what: str) -> str | None:
        value = self.ident(parent, key, path)
        if value is not None and value not in known:
            self.error(
                f"{path}.{key}", f"неизвестная ссылка: {what} «{value}» не описан(а) в файле"
            )
            return None
        return value


def parse_json(raw: bytes | str) -> object:
    """The document from the file's bytes, or a DirectoryImportError naming where it broke."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DirectoryImportError(
                [("$", f"файл не в кодировке UTF-8 (байт {exc.start})")]
            ) from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DirectoryImportError(
            [("$", f"некорректный JSON: строка {exc.lineno}, столбец {exc.colno}: {exc.msg}")]
        ) from None
    except RecursionError:
        raise DirectoryImportError(
            [("$", "некорректный JSON: слишком глубокая вложенность")]
        ) from None


def validate(document: object) -> Snapshot:
    reader = _Reader()
    try:
        snapshot = _validate(reader, document)
    except _TooManyErrors:
        reader.errors.append(("$", f"показаны первые {MAX_ERRORS} ошибок, проверка остановлена"))
        snapshot = None
    if reader.errors:
        raise DirectoryImportError(reader.errors)
    return snapshot


def _validate(r: _Reader, document: object) -> Snapshot:
    people: dict[str, PersonData] = {}
    organizations: list[OrgSnapshot] = []
    doc = r.obj(document, "$")
    if doc is None:
        return Snapshot(organizations, people)
    if doc.get("format") != FORMAT:
        r.error("format", f"неизвестный формат {doc.get('format')!r}: ожидается «{FORMAT}»")
        return Snapshot(organizations, people)
    codes: dict[str, str] = {}
    for i, raw_org in enumerate(r.items(doc, "organizations", "$")):
        path = f"organizations[{i}]"
        org = r.obj(raw_org, path)
        if org is None:
            continue
        snapshot = _validate_org(r, org, path, people)
        if snapshot is None:
            continue
        if snapshot.code in codes:
            r.error(
                f"{path}.code",
                f"повторяющийся код «{snapshot.code}» (уже в {codes[snapshot.code]})",
            )
            continue
        codes[snapshot.code] = path
        organizations.append(snapshot)
    return Snapshot(organizations, people)


def _validate_org(
    r: _Reader, org: dict, path: str, people: dict[str, PersonData]
) -> OrgSnapshot | None:
    code = r.text(org, "code", path, max_length=64)
    if code is not None and not _CODE_RE.match(code):
        r.error(f"{path}.code", "код из латинских букв, цифр, «-» и «_»")
        code = None
    name = r.text(org, "name", path, max_length=500)
    short_name = r.text(org, "short_name", path, max_length=100)
    time_zone = None
    if org.get("time_zone") is not None:
        time_zone = r.text(org, "time_zone", path, max_length=64)
        if time_zone is not None:
            try:
                zoneinfo.ZoneInfo(time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                r.error(f"{path}.time_zone", f"неизвестный часовой пояс «{time_zone}»")
    snap = OrgSnapshot(
        code=code or "", name=name or "", short_name=short_name or "", time_zone=time_zone
    )
    # Every id described, valid or not: a reference to an invalid entry is not "unknown" too.
    seen: dict[str, dict[str, str]] = {
        k: {} for k in ("disciplines", "staff", "groups", "students", "parents", "teaching")
    }

    def entries(key: str):
        for j, raw in enumerate(r.items(org, key, path)):
            where = f"{path}.{key}[{j}]"
            item = r.obj(raw, where)
            if item is None:
                continue
            if key == "lessons":
                yield where, item, None
                continue
            ext_id = r.ident(item, "id", where)
            if ext_id is None:
                continue
            first = seen[key].get(ext_id)
            if first:
                r.error(f"{where}.id", f"повторяющийся id «{ext_id}» (уже в {first})")
                continue
            seen[key][ext_id] = where
            yield where, item, ext_id

    logins_of_kind: dict[str, dict[str, str]] = {"staff": {}, "students": {}, "parents": {}}

    def person(item: dict, where: str, kind: str) -> str | None:
        login = r.text(item, "login", where, max_length=150)
        last = r.text(item, "last_name", where, max_length=150)
        first = r.text(item, "first_name", where, max_length=150)
        middle = r.text(item, "middle_name", where, max_length=150, required=False, blank=True)
        password = None
        if item.get("password") is not None:
            password = r.text(item, "password", where, max_length=128)
        if None in (login, last, first, middle):
            return None
        earlier = logins_of_kind[kind].get(login)
        if earlier:
            r.error(f"{where}.login", f"логин «{login}» уже указан в {earlier}")
            return None
        logins_of_kind[kind][login] = where
        known = people.get(login)
        if known is None:
            people[login] = PersonData(login, last, first, middle, password, where)
        elif (known.last_name, known.first_name, known.middle_name) != (last, first, middle):
            r.error(
                f"{where}.login",
                f"у логина «{login}» другое ФИО в {known.path}: один человек — одно ФИО",
            )
            return None
        elif password and not known.password:
            known.password = password
        return login

    for where, item, ext_id in entries("disciplines"):
        name = r.text(item, "name", where, max_length=300)
        if name is not None:
            snap.disciplines[ext_id] = {"name": name}

    for where, item, ext_id in entries("staff"):
        login = person(item, where, "staff")
        position = r.text(item, "position", where, max_length=200, required=False, blank=True)
        is_admin = r.boolean(item, "is_admin", where)
        if login is not None and position is not None:
            snap.staff[ext_id] = {"login": login, "position": position, "is_admin": is_admin}

    for where, item, ext_id in entries("groups"):
        name = r.text(item, "name", where, max_length=100)
        course = item.get("course")
        if "course" not in item:
            r.error(f"{where}.course", "обязательное поле отсутствует")
            course = None
        elif isinstance(course, bool) or not isinstance(course, int):
            r.error(f"{where}.course", f"курс — целое число от 1 до 6, а не {course!r}")
            course = None
        elif not 1 <= course <= 6:
            r.error(f"{where}.course", f"курс должен быть от 1 до 6, а не {course}")
            course = None
        curators = r.refs(item, "curators", where, seen["staff"], "сотрудник", required=False)
        if name is not None and course is not None:
            snap.groups[ext_id] = {"name": name, "course": course, "curators": curators or []}

    for where, item, ext_id in entries("students"):
        login = person(item, where, "students")
        group = r.ref(item, "group", where, seen["groups"], "группа")
        if login is not None and group is not None:
            snap.students[ext_id] = {"login": login, "group": group}

    for where, item, ext_id in entries("parents"):
        login = person(item, where, "parents")
        children = r.refs(item, "children", where, seen["students"], "обучающийся")
        if login is not None and children is not None:
            snap.guardians[ext_id] = {"login": login, "children": children}

    for where, item, ext_id in entries("teaching"):
        group = r.ref(item, "group", where, seen["groups"], "группа")
        discipline = r.ref(item, "discipline", where, seen["disciplines"], "дисциплина")
        teachers = r.refs(item, "teachers", where, seen["staff"], "сотрудник")
        students = r.refs(item, "students", where, seen["students"], "обучающийся", required=False)
        for k, student in enumerate(students or []):
            student_group = snap.students.get(student, {}).get("group")
            if group is not None and student_group is not None and student_group != group:
                r.error(
                    f"{where}.students[{k}]",
                    f"обучающийся «{student}» не из группы «{group}»: подгруппа — часть группы",
                )
        if None not in (group, discipline, teachers):
            snap.teachings[ext_id] = {
                "group": group,
                "discipline": discipline,
                "teachers": teachers,
                "students": students or [],
            }

    for where, item, _ in entries("lessons"):
        teaching = r.ref(item, "teaching", where, seen["teaching"], "группа по дисциплине")
        date = _date(r, item, "date", where)
        start = _time(r, item, "start", where)
        end = _time(r, item, "end", where)
        if start is not None and end is not None and end <= start:
            r.error(
                f"{where}.end", f"урок заканчивается ({end:%H:%M}) не позже начала ({start:%H:%M})"
            )
            continue
        if None in (teaching, date, start, end):
            continue
        key = (teaching, date, start)
        if key in snap.lessons:
            r.error(where, f"повторяющийся урок: «{teaching}» {date} в {start:%H:%M} уже описан")
            continue
        snap.lessons[key] = {"end": end}

    return snap if code and name and short_name else None


def _date(r: _Reader, item: dict, key: str, where: str) -> dt.date | None:
    value = item.get(key)
    if not isinstance(value, str):
        r.error(f"{where}.{key}", "ожидается дата ГГГГ-ММ-ДД")
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        r.error(f"{where}.{key}", f"некорректная дата {value!r}: ожидается ГГГГ-ММ-ДД")
        return None


def _time(r: _Reader, item: dict, key: str, where: str) -> dt.time | None:
    value = item.get(key)
    if not isinstance(value, str) or not _TIME_RE.match(value):
        r.error(f"{where}.{key}", f"некорректное время {value!r}: ожидается ЧЧ:ММ")
        return None
    return dt.time.fromisoformat(value)
