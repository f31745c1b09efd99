"""import_directory: idempotent upsert by external id, all-or-nothing, B2 safety threshold."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.imports import DirectoryImportError, MassRemovalError, import_directory, parse_json
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

pytestmark = pytest.mark.django_db

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "docs" / "directory.example.json"
EXAMPLE = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
MODELS = (Organization, Person, StaffMember, Discipline, Group, Student, Guardian, Teaching, Lesson)


def example():
    return copy.deepcopy(EXAMPLE)


def org_of(doc):
    return doc["organizations"][0]


def snapshot_of_database():
    return {model.__name__: sorted(model.objects.values_list("pk", flat=True)) for model in MODELS}


def errors_of(doc):
    with pytest.raises(DirectoryImportError) as caught:
        import_directory(doc)
    return dict(caught.value.errors)


def run_command(path, *args):
    out = __import__("io").StringIO()
    call_command("import_directory", str(path), *args, stdout=out)
    return out.getvalue()


def test_the_example_file_loads_everything_it_describes():
    report = import_directory(example())
    assert report.changed
    org = Organization.objects.get(code="kpt")
    assert org.short_name == "КПТ"
    assert StaffMember.objects.filter(organization=org).count() == 3
    assert Student.objects.filter(organization=org).count() == 3
    assert Guardian.objects.filter(organization=org).count() == 2
    assert Lesson.objects.filter(teaching__organization=org).count() == 3
    is21 = Group.objects.get(organization=org, external_id="g-is21")
    assert [c.person.login for c in is21.curators.all()] == ["sidorov"]
    assert not Group.objects.get(external_id="g-tm11").curators.exists()
    assert StaffMember.objects.get(external_id="s-1").is_admin


def test_importing_the_same_file_twice_changes_nothing_and_says_so(tmp_path):
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(EXAMPLE, ensure_ascii=False), encoding="utf-8")
    first = run_command(path)
    before = snapshot_of_database()
    second = run_command(path)
    assert "Импорт выполнен" in first
    assert "Изменений нет" in second
    assert "создано 0, обновлено 0, без изменений 3, деактивировано 0" in second
    assert snapshot_of_database() == before


def test_a_password_in_the_file_lets_the_person_sign_in_and_its_absence_does_not(client):
    import_directory(example())
    assert client.login(username="petrova", password="demo-pass-1")
    assert not Person.objects.get(login="orlova").has_usable_password()


def test_a_password_in_the_file_never_overwrites_one_the_person_changed():
    import_directory(example())
    person = Person.objects.get(login="petrova")
    person.set_password("my-own-secret")
    person.save()
    report = import_directory(example())
    person.refresh_from_db()
    assert person.check_password("my-own-secret")
    assert not report.changed


def test_teaching_without_students_means_the_whole_group_and_with_them_a_subgroup():
    import_directory(example())
    whole = Teaching.objects.get(external_id="t-1")
    subgroup = Teaching.objects.get(external_id="t-2")
    assert not whole.students.exists()
    assert [s.external_id for s in subgroup.students.all()] == ["st-1"]


def test_a_person_in_two_colleges_is_one_person_with_a_role_in_each():
    doc = example()
    second = copy.deepcopy(org_of(doc))
    second.update(code="kmt", name="ГБПОУ «Колледж музыки»", short_name="КМТ")
    second["staff"] = [dict(second["staff"][1], id="x-1", position="Концертмейстер")]
    second["groups"] = [dict(second["groups"][0], curators=["x-1"])]
    second["students"] = second["students"][:2]
    second["parents"] = []
    second["teaching"] = [dict(second["teaching"][0], teachers=["x-1"])]
    second["lessons"] = []
    doc["organizations"].append(second)
    import_directory(doc)
    sidorov = Person.objects.get(login="sidorov")
    assert sorted(sidorov.staff_roles.values_list("organization__code", flat=True)) == [
        "kmt",
        "kpt",
    ]
    assert Person.objects.filter(login="sidorov").count() == 1


def test_a_teacher_who_is_also_a_parent_keeps_both_roles():
    doc = example()
    org_of(doc)["parents"].append(
        {
            "id": "p-3",
            "login": "sidorov",
            "last_name": "Сидоров",
            "first_name": "Игорь",
            "middle_name": "Павлович",
            "children": ["st-3"],
        }
    )
    import_directory(doc)
    person = Person.objects.get(login="sidorov")
    assert person.staff_roles.exists() and person.guardian_roles.exists()


def test_one_login_with_two_different_fios_is_refused():
    doc = example()
    org_of(doc)["parents"][0]["login"] = "sidorov"
    errors = errors_of(doc)
    assert "другое ФИО" in errors["organizations[0].parents[0].login"]


def test_names_follow_the_latest_file():
    import_directory(example())
    doc = example()
    org_of(doc)["staff"][2]["last_name"] = "Орлова-Кравец"
    report = import_directory(doc)
    assert Person.objects.get(login="orlova").last_name == "Орлова-Кравец"
    assert report.people.updated == 1


def test_people_groups_and_roles_absent_from_the_snapshot_are_deactivated_then_come_back():
    import_directory(example())
    doc = example()
    org = org_of(doc)
    org["students"] = [s for s in org["students"] if s["id"] != "st-3"]
    org["groups"] = [g for g in org["groups"] if g["id"] != "g-tm11"]
    report = import_directory(doc, allow_mass_removal=True)
    student = Student.objects.get(external_id="st-3")
    assert not student.is_active
    assert not Group.objects.get(external_id="g-tm11").is_active
    assert Person.objects.filter(login="kuznetsov.a").exists()  # deactivated, never deleted
    assert report.organizations["kpt"]["students"].deactivated == 1
    assert report.organizations["kpt"]["groups"].deactivated == 1

    back = import_directory(example())
    student.refresh_from_db()
    assert student.is_active and Group.objects.get(external_id="g-tm11").is_active
    assert back.organizations["kpt"]["students"].updated == 1
    assert Student.objects.filter(external_id="st-3").count() == 1


def test_lessons_missing_from_the_schedule_are_deactivated():
    import_directory(example())
    doc = example()
    org_of(doc)["lessons"].pop()
    report = import_directory(doc)
    assert report.organizations["kpt"]["lessons"].deactivated == 1
    assert Lesson.objects.filter(is_active=True).count() == 2


def test_a_changed_curator_marks_the_group_updated():
    import_directory(example())
    doc = example()
    org_of(doc)["groups"][1]["curators"] = ["s-3"]
    report = import_directory(doc)
    assert report.organizations["kpt"]["groups"].updated == 1
    assert report.organizations["kpt"]["groups"].unchanged == 1
    curators = Group.objects.get(external_id="g-tm11").curators.all()
    assert [c.person.login for c in curators] == ["orlova"]


def test_a_role_that_got_a_new_external_id_keeps_its_row():
    import_directory(example())
    row = StaffMember.objects.get(external_id="s-3")
    doc = example()
    org_of(doc)["staff"][2]["id"] = "s-33"
    import_directory(doc)
    row.refresh_from_db()
    assert row.external_id == "s-33" and row.is_active
    assert StaffMember.objects.filter(person__login="orlova").count() == 1


def test_organizations_absent_from_the_file_are_untouched():
    import_directory(example())
    import_directory({"format": "epos-directory/1", "organizations": []})
    assert StaffMember.objects.filter(is_active=True).count() == 3


# --- B2: the safety threshold ---------------------------------------------------------------


def test_an_import_that_would_deactivate_too_many_people_stops_and_explains(settings, tmp_path):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    import_directory(example())
    before = snapshot_of_database()
    doc = example()
    org_of(doc)["students"] = []
    org_of(doc)["parents"] = []
    org_of(doc)["teaching"] = [dict(t, students=[]) for t in org_of(doc)["teaching"]]
    with pytest.raises(MassRemovalError) as caught:
        import_directory(doc)
    message = str(caught.value)
    assert "деактивировал бы 5 из 8" in message and "--allow-mass-removal" in message
    assert snapshot_of_database() == before
    assert Student.objects.filter(is_active=True).count() == 3

    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="MASS_REMOVAL_THRESHOLD"):
        run_command(path)
    run_command(path, "--allow-mass-removal")
    assert Student.objects.filter(is_active=True).count() == 0


def test_removals_within_the_threshold_go_through(settings):
    settings.MASS_REMOVAL_THRESHOLD = 0.2
    import_directory(example())
    doc = example()
    org_of(doc)["parents"].pop()  # 1 of 8 people: 12.5 %
    import_directory(doc)
    assert Guardian.objects.filter(is_active=False).count() == 1


# --- every error names the JSON path, and nothing is written ---------------------------------


def _break(mutate):
    doc = example()
    mutate(org_of(doc))
    return doc


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    [
        (lambda o: o["staff"][0].pop("login"), "organizations[0].staff[0].login", "отсутствует"),
        (lambda o: o.pop("groups"), "organizations[0].groups", "отсутствует"),
        (
            lambda o: o["students"].append(dict(o["students"][0], login="other")),
            "organizations[0].students[3].id",
            "повторяющийся id «st-1»",
        ),
        (
            lambda o: o["students"][0].update(group="g-nope"),
            "organizations[0].students[0].group",
            "неизвестная ссылка: группа «g-nope»",
        ),
        (
            lambda o: o["groups"][0].update(curators=["s-404"]),
            "organizations[0].groups[0].curators[0]",
            "неизвестная ссылка",
        ),
        (
            lambda o: o["parents"][0].update(children=["st-404"]),
            "organizations[0].parents[0].children[0]",
            "неизвестная ссылка",
        ),
        (
            lambda o: o["groups"][0].update(course=7),
            "organizations[0].groups[0].course",
            "от 1 до 6",
        ),
        (
            lambda o: o["groups"][0].update(course=0),
            "organizations[0].groups[0].course",
            "от 1 до 6",
        ),
        (lambda o: o["groups"][0].update(course="2"), "organizations[0].groups[0].course", "целое"),
        (
            lambda o: o["lessons"][0].update(date="2026-02-30"),
            "organizations[0].lessons[0].date",
            "некорректная дата",
        ),
        (
            lambda o: o["lessons"][0].update(start="8:30"),
            "organizations[0].lessons[0].start",
            "некорректное время",
        ),
        (
            lambda o: o["lessons"][0].update(start="25:00"),
            "organizations[0].lessons[0].start",
            "некорректное время",
        ),
        (
            lambda o: o["lessons"][0].update(end="08:00"),
            "organizations[0].lessons[0].end",
            "не позже начала",
        ),
        (
            lambda o: o["teaching"][1].update(students=["st-3"]),
            "organizations[0].teaching[1].students[0]",
            "не из группы",
        ),
        (
            lambda o: o["staff"][1].update(login="petrova"),
            "organizations[0].staff[1].login",
            "уже указан",
        ),
        (
            lambda o: o["staff"][0].update(is_admin="да"),
            "organizations[0].staff[0].is_admin",
            "true",
        ),
        (
            lambda o: o["staff"][0].update(last_name="   "),
            "organizations[0].staff[0].last_name",
            "пуст",
        ),
        (
            lambda o: o["staff"][0].update(login="x" * 151),
            "organizations[0].staff[0].login",
            "не длиннее 150",
        ),
        (lambda o: o.update(code="кпт"), "organizations[0].code", "латинских"),
        (
            lambda o: o.update(time_zone="Mars/Olympus"),
            "organizations[0].time_zone",
            "часовой пояс",
        ),
        (
            lambda o: o["lessons"].append(dict(o["lessons"][0])),
            "organizations[0].lessons[3]",
            "повтор",
        ),
        (lambda o: o.update(students={}), "organizations[0].students", "список"),
    ],
)
def test_an_invalid_file_names_the_path_and_the_reason_and_writes_nothing(mutate, path, reason):
    import_directory(example())
    before = snapshot_of_database()
    errors = errors_of(_break(mutate))
    assert path in errors, errors
    assert reason in errors[path]
    assert snapshot_of_database() == before


def test_an_unknown_format_is_refused():
    errors = errors_of({"format": "epos-directory/2", "organizations": []})
    assert "неизвестный формат" in errors["format"]


def test_a_duplicate_organization_code_is_refused():
    doc = example()
    doc["organizations"].append(copy.deepcopy(org_of(doc)))
    assert "повторяющийся код" in errors_of(doc)["organizations[1].code"]


def test_an_error_in_the_second_organization_writes_the_first_one_neither():
    doc = example()
    broken = copy.deepcopy(org_of(doc))
    broken.update(code="other")
    broken["groups"][0]["course"] = 9
    doc["organizations"].append(broken)
    errors_of(doc)
    assert not Organization.objects.exists() and not Person.objects.exists()


def test_all_errors_are_reported_at_once():
    doc = example()
    org_of(doc)["groups"][0]["course"] = 9
    org_of(doc)["lessons"][0]["date"] = "01.12.2026"
    assert len(errors_of(doc)) == 2


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"format": "epos-directory/1", ', "некорректный JSON: строка 1"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[1, 2]", "ожидается объект"),
    ],
)
def test_malformed_json_is_refused_with_the_place_it_broke(raw, reason):
    with pytest.raises(DirectoryImportError) as caught:
        import_directory(parse_json(raw))
    assert reason in str(caught.value)


def test_the_command_reports_a_bad_file_without_a_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="ничего не записано"):
        run_command(path)
    with pytest.raises(CommandError, match="Не удалось прочитать"):
        run_command(tmp_path / "missing.json")


def test_numeric_ids_are_accepted_as_ids():
    doc = example()
    org = org_of(doc)
    org["disciplines"][0]["id"] = 101
    for teaching in org["teaching"]:
        if teaching["discipline"] == "d-inf":
            teaching["discipline"] = 101
    import_directory(doc)
    assert Discipline.objects.filter(external_id="101").exists()


def test_progress_is_reported_step_by_step():
    steps = []
    import_directory(example(), progress=lambda done, total, label: steps.append((done, total)))
    assert steps[-1] == (9, 9)
    assert [done for done, _ in steps] == list(range(1, 10))


def _roster(code, students_per_group):
    doc = example()
    org = org_of(doc)
    org["code"] = code
    for item in (*org["staff"], *org["students"], *org["parents"]):
        item["login"] = f"{code}.{item['login']}"
    for n in range(students_per_group):
        for group in ("g-is21", "g-tm11"):
            sid = f"st-{group}-{n}"
            org["students"].append(
                {
                    "id": sid,
                    "login": f"{code}.{sid}",
                    "last_name": "Тестов",
                    "first_name": "Тест",
                    "group": group,
                }
            )
            org["parents"].append(
                {
                    "id": f"p-{sid}",
                    "login": f"{code}.p-{sid}",
                    "last_name": "Тестова",
                    "first_name": "Мама",
                    "children": [sid],
                }
            )
    return doc


def _queries(doc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        import_directory(doc)
    return len(captured.captured_queries)


def test_the_number_of_queries_grows_by_batches_not_by_rows():
    small = _queries(_roster("small", 5))
    big = _queries(_roster("big", 500))  # 2,000 more people and links
    assert big <= small + 2000 // 50, (small, big)
    again = _queries(_roster("big", 500))
    assert again <= small, (small, again)


# --- fuzzing: whatever the file holds, the answer is a clear error or a clean import ----------

_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10), st.text(max_size=8), st.just("g-is21")
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["staff", "groups", "students", "parents", "teaching", "lessons"]),
    field=st.sampled_from(
        [
            "id",
            "login",
            "group",
            "course",
            "curators",
            "children",
            "date",
            "start",
            "end",
            "teachers",
        ]
    ),
    value=st.one_of(
        _json_leaf,
        st.lists(_json_leaf, max_size=3),
        st.dictionaries(st.text(max_size=3), _json_leaf, max_size=2),
    ),
)
def test_a_mangled_file_is_either_imported_or_refused_with_paths(kind, field, value):
    doc = example()
    entries = org_of(doc)[kind]
    entries[0][field] = value
    try:
        import_directory(doc)
    except DirectoryImportError as exc:
        assert exc.errors and all(isinstance(p, str) and r for p, r in exc.errors)
