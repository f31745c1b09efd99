import collections
import datetime as dt
import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import seed_region
from directory.demo import (
    DEMO_FIRST_VK_ID,
    DEMO_PASSWORD,
    MALE_NAMES,
    PAIRS,
    SURNAMES,
    VK_LINK_SHARES,
    build_document,
    demo_accounts,
    surname_form,
    transliterate,
    vk_linked_logins,
)
from directory.imports import validate
from directory.models import Group, Guardian, Lesson, Organization, Person, StaffMember, Teaching
from vk_sync.models import VkLink

TODAY = dt.date(2026, 3, 11)  # a Wednesday
ROLES = [
    "Администратор ОО",
    "Преподаватель-куратор",
    "Преподаватель (без кураторства)",
    "Преподаватель и родитель",
    "Сотрудник (не преподаватель)",
    "Обучающийся",
    "Родитель",
]


@pytest.fixture(scope="module")
def document():
    return build_document(today=TODAY)


@pytest.fixture(scope="module")
def college(document):
    return document["organizations"][0]


@pytest.fixture(scope="module")
def region():
    return build_document(orgs=3, groups=12, students=10, seed=7, today=TODAY)


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def fio(entry):
    return (entry["last_name"], entry["first_name"], entry["middle_name"])


def every_organization(*documents):
    return [org for document in documents for org in document["organizations"]]


# The document


def test_the_same_seed_builds_the_same_document(document):
    assert build_document(today=TODAY) == document


def test_another_seed_builds_another_college(college):
    other = build_document(seed=2, today=TODAY)["organizations"][0]
    assert {s["login"] for s in other["students"]} != {s["login"] for s in college["students"]}


def test_today_moves_the_lessons_and_nothing_else(document):
    later = build_document(today=TODAY + dt.timedelta(days=30))
    for key in ("staff", "groups", "students", "parents", "teaching", "disciplines"):
        assert later["organizations"][0][key] == document["organizations"][0][key]
    assert later["organizations"][0]["lessons"] != document["organizations"][0]["lessons"]


def test_the_document_passes_the_importers_validation(document, region):
    validate(document)
    validate(region)


def test_the_arguments_set_the_size_of_each_college(region):
    assert len(region["organizations"]) == 3
    for org in region["organizations"]:
        assert len(org["groups"]) == 12
        assert collections.Counter(s["group"] for s in org["students"]) == {
            g["id"]: 10 for g in org["groups"]
        }


def test_sizes_below_one_are_refused():
    with pytest.raises(ValueError, match="groups"):
        build_document(groups=0, today=TODAY)


def test_the_college_is_a_gbpou_with_a_short_name(document, region):
    for org in every_organization(document, region):
        assert org["name"].startswith("ГБПОУ «") and org["name"].endswith("»")
        assert "колледж" in org["name"] or "техникум" in org["name"]
        assert org["short_name"].isupper()


def test_colleges_of_a_region_have_distinct_codes_and_names(region):
    big = build_document(orgs=40, groups=1, students=1, today=TODAY)
    for document in (region, big):
        orgs = document["organizations"]
        assert len({o["code"] for o in orgs}) == len({o["name"] for o in orgs}) == len(orgs)


def test_the_demo_college_has_eight_groups_over_four_courses(college):
    assert len(college["groups"]) >= 8
    assert {g["course"] for g in college["groups"]} == {1, 2, 3, 4}


def test_group_names_are_specialty_course_and_number(college):
    for group in college["groups"]:
        prefix, _, digits = group["name"].partition("-")
        assert prefix.isalpha() and prefix.isupper()
        assert digits[0] == str(group["course"]) and digits[1:].isdigit()
    assert len({g["name"] for g in college["groups"]}) == len(college["groups"])


def test_exactly_one_group_has_no_curator(document, region):
    for org in every_organization(document, region):
        assert sum(1 for g in org["groups"] if not g["curators"]) == 1


def test_curators_are_teachers(document, region):
    for org in every_organization(document, region):
        teachers = {t for record in org["teaching"] for t in record["teachers"]}
        assert {c for g in org["groups"] for c in g["curators"]} <= teachers


def test_at_least_two_staff_are_oo_admins_the_director_first(college):
    admins = [s for s in college["staff"] if s["is_admin"]]
    assert len(admins) >= 2
    assert admins[0]["position"] == "Директор"
    assert any(s["position"].startswith("Заместитель директора") for s in admins)


def test_other_staff_teach_nothing(college):
    teachers = {t for record in college["teaching"] for t in record["teachers"]}
    others = [s for s in college["staff"] if s["id"] not in teachers and not s["is_admin"]]
    assert {"Социальный педагог", "Библиотекарь"} <= {s["position"] for s in others}
    assert all(s["position"] != "Преподаватель" for s in others)


def test_a_teacher_is_also_a_parent_with_the_same_login_and_names(document, region):
    for org in every_organization(document, region):
        staff = {s["login"]: s for s in org["staff"]}
        teachers = {t for record in org["teaching"] for t in record["teachers"]}
        both = [p for p in org["parents"] if p["login"] in staff]
        assert len(both) == 1
        assert fio(both[0]) == fio(staff[both[0]["login"]])
        assert staff[both[0]["login"]]["id"] in teachers


def test_several_disciplines_each_taught_somewhere(college):
    assert len(college["disciplines"]) >= 5
    taught = {record["discipline"] for record in college["teaching"]}
    assert taught == {d["id"] for d in college["disciplines"]}
    assert len({d["name"] for d in college["disciplines"]}) == len(college["disciplines"])


def test_every_group_is_taught_several_disciplines(college):
    per_group = collections.defaultdict(set)
    for record in college["teaching"]:
        per_group[record["group"]].add(record["discipline"])
    assert all(len(per_group[g["id"]]) >= 5 for g in college["groups"])


def test_a_foreign_language_is_taught_in_two_subgroups_of_half_the_group(college):
    names = {d["id"]: d["name"] for d in college["disciplines"]}
    roster = collections.defaultdict(set)
    for student in college["students"]:
        roster[student["group"]].add(student["id"])
    split = collections.defaultdict(list)
    for record in college["teaching"]:
        if "students" in record:
            split[record["group"], record["discipline"]].append(record)
    assert split and {g["id"] for g in college["groups"]} == {g for g, _ in split}
    for (group, discipline), records in split.items():
        assert names[discipline].startswith("Иностранный язык")
        first, second = (set(r["students"]) for r in records)
        assert len(records) == 2 and not first & second and first | second == roster[group]
        assert abs(len(first) - len(second)) <= 1
        assert records[0]["teachers"] != records[1]["teachers"]


def test_a_practice_is_taught_by_two_teachers(college):
    assert any(len(record["teachers"]) == 2 for record in college["teaching"])


def test_lessons_are_weekday_pairs_within_a_week_of_today(document, region):
    for org in every_organization(document, region):
        assert org["lessons"]
        for lesson in org["lessons"]:
            day = dt.date.fromisoformat(lesson["date"])
            assert abs((day - TODAY).days) <= 7 and day.weekday() < 5
            assert (lesson["start"], lesson["end"]) in PAIRS
            assert lesson["start"] < lesson["end"]


def test_lessons_span_the_past_and_the_coming_week(college):
    dates = {dt.date.fromisoformat(lesson["date"]) for lesson in college["lessons"]}
    assert min(dates) < TODAY < max(dates)
    assert TODAY in dates


def test_a_group_never_has_two_lessons_at_once_except_its_subgroups(document, region):
    for org in every_organization(document, region):
        teaching = {r["id"]: r for r in org["teaching"]}
        slots = collections.defaultdict(list)
        for lesson in org["lessons"]:
            record = teaching[lesson["teaching"]]
            slots[record["group"], lesson["date"], lesson["start"]].append(record)
        for records in slots.values():
            if len(records) > 1:  # only the two halves of one discipline, side by side
                assert len(records) == 2 and all("students" in r for r in records)
                assert records[0]["discipline"] == records[1]["discipline"]


def test_a_teacher_never_has_two_lessons_at_once(document, region):
    for org in every_organization(document, region):
        teaching = {r["id"]: r for r in org["teaching"]}
        busy = collections.Counter(
            (teacher, lesson["date"], lesson["start"])
            for lesson in org["lessons"]
            for teacher in teaching[lesson["teaching"]]["teachers"]
        )
        assert max(busy.values()) == 1


def test_ids_are_unique_within_each_kind(document, region):
    for org in every_organization(document, region):
        for kind in ("disciplines", "staff", "groups", "students", "parents", "teaching"):
            ids = [entry["id"] for entry in org[kind]]
            assert len(ids) == len(set(ids)), kind
        slots = [(x["teaching"], x["date"], x["start"]) for x in org["lessons"]]
        assert len(slots) == len(set(slots))


def test_a_login_belongs_to_one_person_across_the_region(region):
    people = {}
    for org in region["organizations"]:
        for kind in ("staff", "students", "parents"):
            for entry in org[kind]:
                assert people.setdefault(entry["login"], fio(entry)) == fio(entry)


def test_logins_repeat_only_for_a_teacher_parent_and_a_part_timer(region):
    seen = collections.Counter(
        entry["login"]
        for org in region["organizations"]
        for kind in ("staff", "students", "parents")
        for entry in org[kind]
    )
    repeated = [login for login, n in seen.items() if n > 1]
    # per college one teacher who is a parent; per college after the first one part-timer
    assert len(repeated) == 3 + 2
    for org in region["organizations"]:
        for kind in ("staff", "students", "parents"):
            logins = [entry["login"] for entry in org[kind]]
            assert len(logins) == len(set(logins))


def test_a_teacher_of_one_college_also_teaches_in_the_next(region):
    first, second, _ = region["organizations"]
    part_timers = [s for s in second["staff"] if s["position"] == "Преподаватель (совместитель)"]
    assert len(part_timers) == 1
    assert part_timers[0]["login"] in {s["login"] for s in first["staff"]}
    assert part_timers[0]["id"] in {t for r in second["teaching"] for t in r["teachers"]}


def test_logins_are_transliterated_surname_and_initials(college):
    for entry in college["staff"] + college["students"] + college["parents"]:
        base = (
            f"{transliterate(entry['last_name'])}."
            f"{transliterate(entry['first_name'])[0]}{transliterate(entry['middle_name'])[0]}"
        )
        assert entry["login"] == base or (
            entry["login"].startswith(base) and entry["login"][len(base) :].isdigit()
        )
        assert entry["login"].isascii()


def test_transliteration_follows_the_passport_rules():
    assert transliterate("Щербакова") == "shcherbakova"
    assert transliterate("Королёв") == "korolev"
    assert transliterate("Юдин") == "yudin"
    assert transliterate("Ильинична") == "ilinichna"


@pytest.mark.parametrize(
    ("masculine", "feminine"),
    [
        ("Иванов", "Иванова"),
        ("Соловьёв", "Соловьёва"),
        ("Ильин", "Ильина"),
        ("Покровский", "Покровская"),
        ("Высоцкий", "Высоцкая"),
        ("Толстой", "Толстая"),
        ("Шевченко", "Шевченко"),
        ("Седых", "Седых"),
    ],
)
def test_a_womans_surname_takes_the_feminine_form(masculine, feminine):
    assert surname_form(masculine, "f") == feminine
    assert surname_form(masculine, "m") == masculine


def test_every_student_has_one_or_two_parents_sharing_the_surname(document, region):
    forms = {surname_form(s, g): s for s in SURNAMES for g in "mf"}
    patronymics = {name: (son, daughter) for name, son, daughter in MALE_NAMES}
    for org in every_organization(document, region):
        parents = collections.defaultdict(list)
        for parent in org["parents"]:
            for child in parent["children"]:
                parents[child].append(parent)
        for student in org["students"]:
            assert 1 <= len(parents[student["id"]]) <= 2
            for parent in parents[student["id"]]:
                assert forms[parent["last_name"]] == forms[student["last_name"]]
                if parent["first_name"] in patronymics:  # a father gives his name
                    assert student["middle_name"] in patronymics[parent["first_name"]]


def test_surname_and_patronymic_agree_with_the_persons_gender(college):
    sons = {son for _, son, _ in MALE_NAMES}
    daughters = {daughter for _, _, daughter in MALE_NAMES}
    feminine = {surname_form(s, "f") for s in SURNAMES}
    for entry in college["staff"] + college["students"] + college["parents"]:
        if entry["middle_name"] in sons:
            assert entry["last_name"] in SURNAMES
        else:
            assert entry["middle_name"] in daughters and entry["last_name"] in feminine


def test_some_parents_have_two_children_in_the_college(college):
    siblings = [p for p in college["parents"] if len(p["children"]) == 2]
    assert siblings and len(siblings) < len(college["parents"]) / 4
    groups = {s["id"]: s["group"] for s in college["students"]}
    assert all(groups[a] != groups[b] for a, b in (p["children"] for p in siblings))


def test_demo_accounts_name_one_login_per_role_with_a_russian_description(document):
    accounts = demo_accounts(document)
    assert [a.role for a in accounts] == ROLES
    assert len({a.login for a in accounts}) == len(ROLES)
    assert all(a.password == DEMO_PASSWORD and a.description for a in accounts)
    assert all(a.description[0].isupper() and a.description.endswith(".") for a in accounts)


def test_demo_accounts_hold_the_roles_they_are_named_for(document, college):
    accounts = {a.role: a.login for a in demo_accounts(document)}
    staff = {s["login"]: s for s in college["staff"]}
    parents = {p["login"]: p for p in college["parents"]}
    students = {s["login"]: s for s in college["students"]}
    teachers = {t for record in college["teaching"] for t in record["teachers"]}
    curators = {c for g in college["groups"] for c in g["curators"]}

    assert staff[accounts["Администратор ОО"]]["is_admin"]
    assert staff[accounts["Преподаватель-куратор"]]["id"] in curators & teachers
    free = staff[accounts["Преподаватель (без кураторства)"]]["id"]
    assert free in teachers and free not in curators
    assert accounts["Преподаватель и родитель"] in staff.keys() & parents.keys()
    assert staff[accounts["Сотрудник (не преподаватель)"]]["id"] not in teachers
    student = students[accounts["Обучающийся"]]
    assert student["id"] in parents[accounts["Родитель"]]["children"]
    assert accounts["Родитель"] not in staff


def test_only_the_demo_accounts_carry_the_password(region):
    logins = {a.login for a in demo_accounts(region)}
    first, *others = region["organizations"]
    with_password = {
        e["login"]
        for kind in ("staff", "students", "parents")
        for e in first[kind]
        if "password" in e
    }
    assert with_password == logins
    for org in others:  # the demo part-timer keeps the password where he also works
        for entry in itertools.chain(org["staff"], org["students"], org["parents"]):
            assert "password" not in entry or entry["login"] in logins


def test_a_realistic_share_of_each_college_has_linked_a_vk_id(document, region):
    for doc, seed in ((document, 1), (region, 7)):
        linked = set(vk_linked_logins(doc, seed=seed))
        for org in doc["organizations"]:
            for kind, share in VK_LINK_SHARES.items():
                logins = {entry["login"] for entry in org[kind]}
                # A login shared with another college or role may be picked there.
                assert abs(len(logins & linked) - round(len(logins) * share)) <= 2, kind


def test_vk_links_are_chosen_by_the_seed(document):
    assert vk_linked_logins(document, seed=1) == vk_linked_logins(document, seed=1)
    assert vk_linked_logins(document, seed=1) != vk_linked_logins(document, seed=2)
    linked = vk_linked_logins(document)
    assert len(linked) == len(set(linked))


def test_every_demo_account_but_the_parent_has_linked_a_vk_id(document):
    linked = set(vk_linked_logins(document))
    accounts = {a.role: a.login for a in demo_accounts(document)}
    parent = accounts.pop("Родитель")
    assert parent not in linked
    assert set(accounts.values()) <= linked


# The command


@pytest.mark.django_db
def test_seed_demo_imports_the_college_and_prints_its_demo_accounts(document, college):
    output = seed()

    organization = Organization.objects.get()
    assert organization.short_name in output
    assert Group.objects.filter(organization=organization).count() == len(college["groups"])
    assert StaffMember.objects.filter(organization=organization, is_admin=True).count() >= 2
    assert Teaching.objects.exclude(students=None).exists()
    today = timezone.localdate()
    assert Lesson.objects.filter(
        date__gte=today - dt.timedelta(days=7), date__lte=today + dt.timedelta(days=7)
    ).exists()
    for account in demo_accounts(document):
        assert f"{account.role}" in output and account.login in output
    assert DEMO_PASSWORD in output
    assert "загружено за" in output


@pytest.mark.django_db
def test_seed_demo_if_empty_changes_nothing_on_a_seeded_database():
    seed()
    before = Person.objects.order_by("pk").values_list("pk", "login", "password")
    before, lessons = list(before), Lesson.objects.count()
    links = set(VkLink.objects.values_list("pk", "person_id", "vk_user_id"))

    output = seed("--if-empty")

    assert "не загружаются" in output
    assert list(Person.objects.order_by("pk").values_list("pk", "login", "password")) == before
    assert Lesson.objects.count() == lessons
    assert set(VkLink.objects.values_list("pk", "person_id", "vk_user_id")) == links
    assert "Администратор ОО" in output and "нет в базе" not in output


@pytest.mark.django_db
def test_seed_demo_twice_reports_no_change():
    seed()
    assert "Изменений нет" in seed()


@pytest.mark.django_db
def test_seed_demo_if_empty_seeds_an_empty_database():
    seed("--if-empty")
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_seed_demo_takes_the_size_of_the_region():
    seed("--orgs", "2", "--groups", "4", "--students", "3", "--seed", "5")

    assert Organization.objects.count() == 2
    assert Group.objects.count() == 8
    assert Guardian.objects.filter(person__staff_roles__isnull=False).distinct().count() == 2


@pytest.mark.django_db
def test_seed_demo_flags_demo_logins_missing_from_another_seeds_data():
    seed("--seed", "3")
    output = seed("--if-empty")
    assert "нет в базе" in output


@pytest.mark.django_db
def test_seed_demo_over_a_demo_of_other_sizes_says_to_start_from_an_empty_database():
    seed()
    with pytest.raises(CommandError, match="очистите её"):
        seed("--groups", "9")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_demo_account_signs_in_with_the_demo_password(client, role):
    seed()
    account = next(a for a in demo_accounts(build_document(today=TODAY)) if a.role == role)
    assert client.login(login=account.login, password=DEMO_PASSWORD)


@pytest.mark.django_db
def test_people_outside_the_demo_accounts_cannot_sign_in():
    seed()
    demo = {a.login for a in demo_accounts(build_document(today=TODAY))}
    others = Person.objects.exclude(login__in=demo)
    assert others.exists()
    assert not any(person.has_usable_password() for person in others)


@pytest.mark.django_db
def test_seed_demo_links_the_chosen_people_to_vk_ids_and_shows_it_per_account(document):
    output = seed()

    logins = vk_linked_logins(document)
    links = dict(VkLink.objects.values_list("person__login", "vk_user_id"))
    assert links == {login: DEMO_FIRST_VK_ID + i for i, login in enumerate(logins)}
    assert "Учебные профили VK ID: привязано" in output
    for account in demo_accounts(document):
        (line,) = [row for row in output.splitlines() if f" {account.login} " in row]
        status = "не привязан" if account.role == "Родитель" else "привязан"
        assert line.rstrip().endswith(f"{DEMO_PASSWORD}  {status}"), line


@pytest.mark.django_db
def test_seed_demo_again_does_not_relink_who_has_unlinked(document):
    seed()
    student = next(a.login for a in demo_accounts(document) if a.role == "Обучающийся")
    VkLink.objects.filter(person__login=student).delete()
    links = set(VkLink.objects.values_list("person_id", "vk_user_id"))

    seed()
    seed("--if-empty")

    assert set(VkLink.objects.values_list("person_id", "vk_user_id")) == links


# The region benchmark


@pytest.mark.django_db
def test_seed_region_loads_a_small_region_college_by_college():
    out = io.StringIO()
    figures = seed_region.run(orgs=3, groups=4, students=5, today=TODAY, out=out)

    assert Organization.objects.count() == 3
    assert len(figures.load) == 3 and not figures.reimport_changed
    assert Person.objects.filter(student_roles__isnull=False).count() == 3 * 4 * 5
    assert "записей/с" in out.getvalue() and "Линейность" in out.getvalue()


@pytest.mark.django_db
def test_seed_region_refuses_a_database_that_is_not_empty(capsys):
    seed()
    assert seed_region.main(["--orgs", "1", "--groups", "1", "--students", "1"]) == 2
    assert "--flush" in capsys.readouterr().err
    assert Organization.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_seed_region_loads_full_size_colleges_on_postgresql():
    figures = seed_region.run(orgs=2, groups=40, students=25, today=TODAY, out=io.StringIO())

    assert Person.objects.filter(student_roles__isnull=False).count() == 2 * 40 * 25
    assert not figures.reimport_changed


@settings(max_examples=25, deadline=None)
@given(
    orgs=st.integers(1, 3),
    groups=st.integers(1, 14),
    students=st.integers(1, 6),
    seed=st.integers(0, 10**6),
    today=st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
)
def test_any_size_and_seed_builds_a_document_the_importer_accepts(
    orgs, groups, students, seed, today
):
    document = build_document(orgs=orgs, groups=groups, students=students, seed=seed, today=today)
    validate(document)
    for org in document["organizations"]:
        assert sum(1 for g in org["groups"] if not g["curators"]) == 1
        assert len(org["students"]) == groups * students
