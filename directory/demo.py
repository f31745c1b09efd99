"""A deterministic, realistic demo college — or a whole region for the benchmarks — as an
`epos-directory/1` document, loaded by `import_directory` like any journal export.

Only `random.Random` instances seeded from the arguments are used, so the same arguments give
the same document; `today` moves the lessons and nothing else.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

FORMAT = "epos-directory/1"
DEMO_PASSWORD = "demo1234"
# Who has linked a «учебный профиль VK ID» in the demo, by role, and the demo's VK ids.
VK_LINK_SHARES = {"staff": 0.7, "students": 0.6, "parents": 0.45}
DEMO_FIRST_VK_ID = 700_000_001
UNLINKED_DEMO_ROLE = "Родитель"
PAIRS = (("08:30", "10:00"), ("10:10", "11:40"), ("12:10", "13:40"), ("13:50", "15:20"))
COURSES = (1, 2, 3, 4)
SCHEDULE_DAYS = 7  # lessons on the weekdays within a week either side of today
TEACHER_CAPACITY = 12  # pairs a week; below a real load, so the schedule has room


def _words(text: str) -> list[str]:
    return text.split()


# Masculine forms; feminine ones follow from the ending (see `surname_form`).
SURNAMES = _words(
    """
Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин
Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов
Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв
Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов
Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов
Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов
Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев
Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников
Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин
Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков
Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин Белоусов Нестеров
Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронов Аксёнов Мальцев Логинов
Горшков Савин Краснов Майоров Демидов Елисеев Рыбаков Сафонов Плотников Дёмин Хохлов Жданов
Лобанов Зуев Покровский Вишневский Добровольский Островский Рождественский Успенский Высоцкий
Зарецкий Соколовский Трубецкой Толстой Шевченко Бондаренко Коваленко Ткаченко Кравченко Седых
Черных Белых
"""
)

# A man's first name, then the patronymics it gives to his son and to his daughter.
MALE_NAMES = [
    tuple(line.split())
    for line in """
Александр Александрович Александровна
Алексей Алексеевич Алексеевна
Анатолий Анатольевич Анатольевна
Андрей Андреевич Андреевна
Антон Антонович Антоновна
Артём Артёмович Артёмовна
Борис Борисович Борисовна
Вадим Вадимович Вадимовна
Валерий Валерьевич Валерьевна
Василий Васильевич Васильевна
Виктор Викторович Викторовна
Виталий Витальевич Витальевна
Владимир Владимирович Владимировна
Вячеслав Вячеславович Вячеславовна
Геннадий Геннадьевич Геннадьевна
Григорий Григорьевич Григорьевна
Денис Денисович Денисовна
Дмитрий Дмитриевич Дмитриевна
Евгений Евгеньевич Евгеньевна
Егор Егорович Егоровна
Иван Иванович Ивановна
Игорь Игоревич Игоревна
Илья Ильич Ильинична
Кирилл Кириллович Кирилловна
Константин Константинович Константиновна
Леонид Леонидович Леонидовна
Максим Максимович Максимовна
Михаил Михайлович Михайловна
Николай Николаевич Николаевна
Олег Олегович Олеговна
Павел Павлович Павловна
Пётр Петрович Петровна
Роман Романович Романовна
Руслан Русланович Руслановна
Сергей Сергеевич Сергеевна
Станислав Станиславович Станиславовна
Степан Степанович Степановна
Тимур Тимурович Тимуровна
Фёдор Фёдорович Фёдоровна
Юрий Юрьевич Юрьевна
Ярослав Ярославович Ярославовна
""".strip().splitlines()
]
FEMALE_NAMES = _words(
    """
Елена Ольга Наталья Татьяна Ирина Светлана Юлия Анна Марина Екатерина Мария Людмила Галина
Надежда Оксана Евгения Анастасия Виктория Валентина Любовь Алла Лариса Вера Инна Жанна Ксения
Дарья Олеся Алёна Кристина Нина Полина
"""
)
BOY_NAMES = _words(
    """
Артём Максим Александр Михаил Иван Даниил Дмитрий Кирилл Андрей Егор Никита Илья Алексей Матвей
Тимофей Роман Владимир Ярослав Фёдор Георгий Константин Лев Марк Николай Сергей Павел Глеб Степан
Денис Арсений Семён Богдан Владислав Вадим
"""
)
GIRL_NAMES = _words(
    """
Анастасия Мария Анна Виктория Екатерина Дарья Полина Софья Алиса Елизавета Ксения Валерия Вероника
Арина Варвара Александра Ева Кристина Милана Ульяна Василиса Алина Диана Юлия Ангелина Маргарита
Таисия Злата Есения Яна
"""
)

PLACES = _words(
    """
Берёзовский Заречный Озёрский Северный Приречный Лесной Светлогорский Краснохолмский Каменский
Сосновский Ключевской Нагорный Степной Верхнеборский Новосельский Белоярский Зеленодольский
Камышинский Благовещенский Покровский Никольский Троицкий Октябрьский Краевой Речной Кедровый
Дубовский Яблоновский Горный Луговской
"""
)
COLLEGE_KINDS = [
    ("политехнический колледж", "ПК"),
    ("технологический колледж", "ТК"),
    ("индустриальный техникум", "ИТ"),
    ("многопрофильный колледж", "МК"),
    ("колледж сервиса и технологий", "КСТ"),
    ("техникум отраслевых технологий", "ТОТ"),
    ("колледж промышленных технологий", "КПТ"),
    ("строительно-технологический колледж", "СТК"),
]


@dataclass(frozen=True)
class Specialty:
    prefix: str
    name: str
    male_share: float  # of its students
    disciplines: tuple[str, ...]  # 3 for course 2, 2 for course 3, 2 for course 4


SPECIALTIES = [
    Specialty(
        "ИС",
        "Информационные системы и программирование",
        0.75,
        (
            "Основы алгоритмизации и программирования",
            "Операционные системы и среды",
            "Архитектура аппаратных средств",
            "Основы проектирования баз данных",
            "Компьютерные сети",
            "Разработка программных модулей",
            "Технология разработки программного обеспечения",
        ),
    ),
    Specialty(
        "ТМ",
        "Технология машиностроения",
        0.85,
        (
            "Инженерная графика",
            "Техническая механика",
            "Материаловедение",
            "Метрология, стандартизация и сертификация",
            "Процессы формообразования и инструменты",
            "Технологическое оборудование",
            "Технология машиностроения",
        ),
    ),
    Specialty(
        "ЭБ",
        "Экономика и бухгалтерский учёт",
        0.25,
        (
            "Экономика организации",
            "Статистика",
            "Менеджмент",
            "Документационное обеспечение управления",
            "Финансы, денежное обращение и кредит",
            "Налоги и налогообложение",
            "Основы бухгалтерского учёта",
        ),
    ),
    Specialty(
        "ПК",
        "Поварское и кондитерское дело",
        0.45,
        (
            "Микробиология, санитария и гигиена в пищевом производстве",
            "Основы товароведения продовольственных товаров",
            "Техническое оснащение и организация рабочего места",
            "Экономические и правовые основы профессиональной деятельности",
            "Организация приготовления блюд и кулинарных изделий",
            "Приготовление хлебобулочных и кондитерских изделий",
            "Основы калькуляции и учёта",
        ),
    ),
    Specialty(
        "АТ",
        "Техническое обслуживание и ремонт автомобильного транспорта",
        0.9,
        (
            "Инженерная графика",
            "Электротехника и электроника",
            "Правила безопасности дорожного движения",
            "Устройство автомобилей",
            "Охрана труда",
            "Техническое обслуживание и ремонт автомобилей",
            "Организация процессов по техническому обслуживанию",
        ),
    ),
    Specialty(
        "СП",
        "Сварочное производство",
        0.9,
        (
            "Основы инженерной графики",
            "Основы электротехники",
            "Основы материаловедения",
            "Допуски и технические измерения",
            "Технология сварочных работ",
            "Основное оборудование для производства сварных конструкций",
            "Контроль качества сварных соединений",
        ),
    ),
    Specialty(
        "ДО",
        "Дошкольное образование",
        0.05,
        (
            "Педагогика",
            "Психология",
            "Возрастная анатомия, физиология и гигиена",
            "Теоретические основы дошкольного образования",
            "Теоретические и методические основы физического воспитания",
            "Теоретические основы организации обучения в разных возрастных группах",
            "Основы организации мероприятий по укреплению здоровья детей",
        ),
    ),
]


@dataclass(frozen=True)
class Subject:
    """A line of a course's curriculum: a discipline, its teachers' pool, pairs a week."""

    discipline: str
    pool: str
    hours: int
    subgroups: bool = False  # taught to each half of the group by its own teacher
    teachers: int = 1


PRACTICE = "Учебная практика"
COMMON_CURRICULUM = {
    1: [
        Subject("Русский язык", "rus", 2),
        Subject("Литература", "rus", 1),
        Subject("Иностранный язык", "lang", 2, subgroups=True),
        Subject("Математика", "math", 3),
        Subject("История", "hist", 2),
        Subject("Физика", "phys", 2),
        Subject("Информатика", "inf", 2),
        Subject("Физическая культура", "pe", 2),
        Subject("Основы безопасности и защиты Родины", "obzr", 1),
    ],
    2: [
        Subject("Иностранный язык в профессиональной деятельности", "lang", 2, subgroups=True),
        Subject("Физическая культура", "pe", 2),
        Subject("Основы философии", "hist", 1),
        Subject("История России", "hist", 1),
    ],
    3: [
        Subject("Иностранный язык в профессиональной деятельности", "lang", 2, subgroups=True),
        Subject("Физическая культура", "pe", 2),
        Subject("Психология общения", "psy", 1),
    ],
    4: [
        Subject("Иностранный язык в профессиональной деятельности", "lang", 1, subgroups=True),
        Subject("Физическая культура", "pe", 2),
        Subject("Безопасность жизнедеятельности", "obzr", 2),
    ],
}
POOL_FEMALE_SHARE = {"pe": 0.35, "obzr": 0.3, "spec:ТМ": 0.4, "spec:АТ": 0.2, "spec:СП": 0.2}
FIRST_IN_POOL_POSITION = {
    "pe": "Руководитель физического воспитания",
    "obzr": "Преподаватель-организатор ОБЗР",
}
ADMINS = (
    "Директор",
    "Заместитель директора по учебной работе",
    "Заместитель директора по воспитательной работе",
)
OTHER_STAFF = (
    "Социальный педагог",
    "Библиотекарь",
    "Педагог-психолог",
    "Методист",
    "Секретарь учебной части",
    "Педагог-организатор",
    "Заведующий отделением",
    "Специалист по кадрам",
)


def curriculum(course: int, specialty: Specialty) -> list[Subject]:
    pool = f"spec:{specialty.prefix}"
    own = {
        1: [],
        2: [Subject(name, pool, 3) for name in specialty.disciplines[:3]],
        3: [Subject(name, pool, 3) for name in specialty.disciplines[3:5]]
        + [Subject(PRACTICE, pool, 3, teachers=2)],
        4: [Subject(name, pool, 3) for name in specialty.disciplines[5:7]],
    }[course]
    return COMMON_CURRICULUM[course] + own


_FEMININE_ENDINGS = (
    ("ский", "ская"),
    ("цкий", "цкая"),
    ("ой", "ая"),
    ("ый", "ая"),
    ("ов", "ова"),
    ("ев", "ева"),
    ("ёв", "ёва"),
    ("ин", "ина"),
    ("ын", "ына"),
)


def surname_form(surname: str, gender: str) -> str:
    """«Иванов» → «Иванова» for a woman; «Шевченко», «Седых» do not change."""
    if gender == "m":
        return surname
    for masculine, feminine in _FEMININE_ENDINGS:
        if surname.endswith(masculine):
            return surname[: -len(masculine)] + feminine
    return surname


_TRANSLIT = {
    ord(letter): latin.strip("_")
    for letter, latin in zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _words("a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya"),
        strict=True,
    )
}


def transliterate(text: str) -> str:
    return text.lower().translate(_TRANSLIT)


@dataclass
class _Person:
    gender: str  # "m" | "f"
    surname: str  # the family's, masculine form
    first_name: str
    middle_name: str
    login: str = ""

    @property
    def last_name(self) -> str:
        return surname_form(self.surname, self.gender)

    def entry(self, id: str, **fields) -> dict:
        return {
            "id": id,
            "login": self.login,
            "last_name": self.last_name,
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            **fields,
        }


@dataclass
class _Family:
    surname: str
    father_name: tuple[str, str, str]  # gives the children their patronymic
    parents: list[_Person]
    children: list[str] = field(default_factory=list)  # student ids
    group: str = ""  # the first child's, so a sibling studies elsewhere


class _Region:
    """What must stay unique across the colleges of one document: logins, names, codes."""

    def __init__(self) -> None:
        self.logins: dict[str, int] = {}
        self.names: set[str] = set()
        self.codes: set[str] = set()
        self.commuter: tuple[_Person, str, dict] | None = None  # person, pool, staff entry

    def login(self, person: _Person) -> str:
        base = (
            f"{transliterate(person.last_name)}."
            f"{transliterate(person.first_name)[:1]}{transliterate(person.middle_name)[:1]}"
        )
        # A base ends in a letter, so «ivanov.ka2» can never be someone else's base.
        seen = self.logins.get(base, 0) + 1
        self.logins[base] = seen
        person.login = base if seen == 1 else f"{base}{seen}"
        return person.login

    def college(self, rng: random.Random) -> tuple[str, str, str]:
        """A college's name, short name and code, none used before in the region."""
        for attempt in range(1000):
            place = rng.choice(PLACES)
            kind, abbreviation = rng.choice(COLLEGE_KINDS)
            name = f"ГБПОУ «{place} {kind}»"
            if attempt >= 100:
                name = f"ГБПОУ «{place} {kind} № {attempt}»"
            if name not in self.names:
                break
        self.names.add(name)
        short_name = place[0] + abbreviation
        code = base = transliterate(short_name)
        n = 1
        while code in self.codes:
            n += 1
            code = f"{base}-{n}"
        self.codes.add(code)
        return name, short_name, code


def _adult(
    rng: random.Random, gender: str, surname: str | None = None, first_name: str | None = None
) -> _Person:
    _, son, daughter = rng.choice(MALE_NAMES)
    if first_name is None:
        first_name = rng.choice(MALE_NAMES)[0] if gender == "m" else rng.choice(FEMALE_NAMES)
    return _Person(
        gender,
        surname or rng.choice(SURNAMES),
        first_name,
        son if gender == "m" else daughter,
    )


def _new_family(rng: random.Random, region: _Region, parent: _Person | None = None) -> _Family:
    """A family: one or two parents; `parent`, when given, is one of them (a staff member)."""
    if parent is not None:
        surname = parent.surname
        father = (
            next(n for n in MALE_NAMES if n[0] == parent.first_name)
            if parent.gender == "m"
            else rng.choice(MALE_NAMES)
        )
        parents = [parent]
        if rng.random() < 0.5:
            spouse_gender = "f" if parent.gender == "m" else "m"
            spouse = _adult(
                rng, spouse_gender, surname, father[0] if spouse_gender == "m" else None
            )
            region.login(spouse)
            parents.append(spouse)
        return _Family(surname, father, parents)
    surname = rng.choice(SURNAMES)
    father = rng.choice(MALE_NAMES)
    roll = rng.random()
    parents = []
    if roll < 0.92:  # single fathers are rarer than single mothers
        parents.append(_adult(rng, "f", surname))
    if roll >= 0.62:
        parents.append(_adult(rng, "m", surname, father[0]))
    for person in parents:
        region.login(person)
    return _Family(surname, father, parents)


def _split_groups(groups: int, specialties: list[Specialty]) -> list[tuple[int, Specialty]]:
    """(course, specialty) of each group: spread over the four courses, then specialties."""
    layout = []
    for index, course in enumerate(COURSES):
        in_course = groups // len(COURSES) + (1 if index < groups % len(COURSES) else 0)
        for k in range(in_course):
            layout.append((course, specialties[(k + index) % len(specialties)]))
    return layout


def _lesson_days(today: dt.date) -> list[dt.date]:
    days = (today + dt.timedelta(days=d) for d in range(-SCHEDULE_DAYS, SCHEDULE_DAYS + 1))
    return [day for day in days if day.weekday() < 5]


def _build_organization(
    index: int,
    *,
    region: _Region,
    groups: int,
    students: int,
    seed: int,
    today: dt.date,
) -> tuple[dict, _Person | None, str]:
    """One college; also the teacher who may take a second job at the next college."""
    rng = random.Random(f"epos-demo/{seed}/{index}")
    name, short_name, code = region.college(rng)
    n_specialties = min(len(SPECIALTIES), max(2, round(groups / 8)))
    specialties = rng.sample(SPECIALTIES, n_specialties)
    layout = _split_groups(groups, specialties)

    # Groups: «ИС-21» is the first ИС group of course 2.
    group_entries, plans = [], []
    numbers: dict[tuple[str, int], int] = {}
    for i, (course, specialty) in enumerate(layout, start=1):
        number = numbers[specialty.prefix, course] = numbers.get((specialty.prefix, course), 0) + 1
        group_entries.append(
            {"id": f"g-{i}", "name": f"{specialty.prefix}-{course}{number}", "course": course}
        )
        plans.append(curriculum(course, specialty))

    # Teachers: each pool sized to its weekly pairs, enough of them for every curator to be one.
    load: dict[str, int] = {}
    for plan in plans:
        for subject in plan:
            per_teacher = 2 if subject.subgroups else subject.teachers
            load[subject.pool] = load.get(subject.pool, 0) + subject.hours * per_teacher
    sizes = {
        pool: max(2 if pool == "lang" or pool.startswith("spec:") else 1, math.ceil(hours / 12))
        for pool, hours in load.items()
    }
    while sum(sizes.values()) < groups + 2:
        busiest = max(sizes, key=lambda pool: (load[pool] / sizes[pool], pool))
        sizes[busiest] += 1

    staff: list[tuple[_Person, str, bool]] = []  # person, position, is_admin
    for position in ADMINS[: 2 if groups < 16 else 3]:
        staff.append((_adult(rng, "f" if rng.random() < 0.7 else "m"), position, True))
    teachers: list[tuple[_Person, str]] = []  # person, pool
    for pool in sorted(sizes, key=lambda pool: (pool.startswith("spec:"), pool)):
        for n in range(sizes[pool]):
            female = rng.random() < POOL_FEMALE_SHARE.get(pool, 0.75)
            teachers.append((_adult(rng, "f" if female else "m"), pool))
            position = FIRST_IN_POOL_POSITION.get(pool, "Преподаватель") if n == 0 else None
            staff.append((teachers[-1][0], position or "Преподаватель", False))
    commuter_index = None
    if region.commuter is not None:
        person, pool, _ = region.commuter
        commuter_index = len(teachers)
        teachers.append((person, pool if pool in sizes else "psy" if "psy" in sizes else "pe"))
        staff.append((person, "Преподаватель (совместитель)", False))
    for position in OTHER_STAFF[: 2 + groups // 10]:
        staff.append((_adult(rng, "f" if rng.random() < 0.8 else "m"), position, False))

    # Who teaches what: a group keeps one teacher per pool, the least loaded one.
    teacher_load = [0] * len(teachers)
    by_pool: dict[str, list[int]] = {}
    for i, (_, pool) in enumerate(teachers):
        by_pool.setdefault(pool, []).append(i)

    def least_loaded(pool: str, count: int, exclude=()) -> list[int]:
        candidates = [i for i in by_pool[pool] if i not in exclude]
        # Ties go to the part-timer first: they came to teach something.
        return sorted(
            candidates, key=lambda i: (teacher_load[i], i != commuter_index, rng.random())
        )[:count]

    assignments: list[list[tuple[Subject, list[int]]]] = []
    for plan in plans:
        chosen: dict[str, int] = {}
        subjects = []
        for subject in plan:
            if subject.pool not in chosen:
                chosen[subject.pool] = least_loaded(subject.pool, 1)[0]
            first = chosen[subject.pool]
            if subject.subgroups or subject.teachers > 1:
                who = [first, *least_loaded(subject.pool, 1, exclude={first})]
            else:
                who = [first]
            for i in who:
                teacher_load[i] += subject.hours
            subjects.append((subject, who))
        assignments.append(subjects)

    # A pool may end up with a teacher no group needed: not hired.
    idle = {id(person) for i, (person, _) in enumerate(teachers) if not teacher_load[i]}
    staff = [s for s in staff if id(s[0]) not in idle]
    staff_ids: dict[int, str] = {}
    for i, (person, _, _) in enumerate(staff, start=1):
        if not person.login:
            region.login(person)
        staff_ids[id(person)] = f"s-{i}"

    # Curators: one group has none, one (in a college big enough) has two; a teacher curates
    # a group they teach when they can. One teacher stays free of curatorship, one is a parent.
    teaching = [i for i in range(len(teachers)) if teacher_load[i] and i != commuter_index]
    free_teacher, parent_teacher = rng.sample(teaching, 2)
    no_curator = rng.randrange(groups)
    two_curators = (no_curator + 1 + rng.randrange(groups - 1)) % groups if groups > 2 else None
    curating: set[int] = set()
    available = [i for i in teaching if i not in (free_teacher, parent_teacher)]
    for g in rng.sample(range(groups), groups):
        if g == no_curator:
            group_entries[g]["curators"] = []
            continue
        own = {i for _, who in assignments[g] for i in who}
        wanted = 2 if g == two_curators else 1
        picked: list[int] = []
        for pool in (own, set(available)):
            candidates = sorted(i for i in pool if i in available and i not in curating)
            while candidates and len(picked) < wanted:
                picked.append(candidates.pop(rng.randrange(len(candidates))))
                curating.add(picked[-1])
        if not picked:  # more groups than teachers: someone curates two
            picked = [rng.choice(available or teaching)]
        group_entries[g]["curators"] = [staff_ids[id(teachers[i][0])] for i in picked]

    # Students and their families; some families have two children here, and one family is
    # a teacher's.
    own_family = _new_family(rng, region, teachers[parent_teacher][0])
    families: list[_Family] = []
    only_children: list[_Family] = []
    own_family_group = rng.randrange(groups)
    student_entries: list[dict] = []
    roster: list[list[dict]] = []
    for g, (_, specialty) in enumerate(layout):
        group_id = group_entries[g]["id"]
        members = []
        for k in range(students):
            if k == 0 and g == own_family_group:
                family = own_family
            elif only_children and rng.random() < 0.07:
                family = only_children.pop(rng.randrange(len(only_children)))
                if family.group == group_id:  # twins in one group are rare: not here
                    only_children.append(family)
                    family = _new_family(rng, region)
            else:
                family = _new_family(rng, region)
            if not family.children:
                families.append(family)
                family.group = group_id
                if family is not own_family:
                    only_children.append(family)
            gender = "m" if rng.random() < specialty.male_share else "f"
            child = _Person(
                gender,
                family.surname,
                rng.choice(BOY_NAMES if gender == "m" else GIRL_NAMES),
                family.father_name[1 if gender == "m" else 2],
            )
            region.login(child)
            entry = child.entry(f"st-{len(student_entries) + 1}", group=group_id)
            family.children.append(entry["id"])
            student_entries.append(entry)
            members.append(entry)
        members.sort(key=lambda e: (e["last_name"], e["first_name"], e["middle_name"]))
        roster.append(members)

    parent_entries = []
    for family in families:
        for person in family.parents:
            parent_entries.append(
                person.entry(f"p-{len(parent_entries) + 1}", children=list(family.children))
            )

    # Teaching records («группы по дисциплинам») and the weekly timetable they repeat.
    disciplines: dict[str, str] = {}
    teaching_entries = []
    busy: set[tuple[int, int, int]] = set()  # teacher, weekday, pair
    lesson_days = _lesson_days(today)
    lesson_entries = []
    for g, subjects in enumerate(assignments):
        units = []  # (teaching ids, teachers) sharing one slot, once per weekly pair
        for subject, who in subjects:
            discipline = disciplines.setdefault(subject.discipline, f"d-{len(disciplines) + 1}")
            base = {"group": group_entries[g]["id"], "discipline": discipline}
            members = roster[g]
            if subject.subgroups and len(members) >= 2:
                half = (len(members) + 1) // 2
                records = [
                    {
                        **base,
                        "teachers": [staff_ids[id(teachers[i][0])]],
                        "students": [e["id"] for e in part],
                    }
                    for i, part in zip(who, (members[:half], members[half:]), strict=True)
                ]
            else:
                records = [{**base, "teachers": [staff_ids[id(teachers[i][0])] for i in who]}]
            for record in records:
                teaching_entries.append({"id": f"t-{len(teaching_entries) + 1}", **record})
            ids = [r["id"] for r in teaching_entries[-len(records) :]]
            units += [(ids, who)] * subject.hours
        rng.shuffle(units)
        taken: set[tuple[int, int]] = set()
        week: dict[tuple[int, int], list[str]] = {}
        for ids, who in units:
            # Mornings first, so a group's day starts at the first pair and has few gaps.
            for pair in range(len(PAIRS)):
                day = next(
                    (
                        d
                        for d in range(5)
                        if (d, pair) not in taken and not any((i, d, pair) in busy for i in who)
                    ),
                    None,
                )
                if day is not None:
                    taken.add((day, pair))
                    busy.update((i, day, pair) for i in who)
                    week[day, pair] = ids
                    break
        for day in lesson_days:
            for (weekday, pair), ids in sorted(week.items()):
                if weekday == day.weekday():
                    start, end = PAIRS[pair]
                    for teaching_id in ids:
                        lesson_entries.append(
                            {
                                "teaching": teaching_id,
                                "date": day.isoformat(),
                                "start": start,
                                "end": end,
                            }
                        )

    staff_entries = [
        person.entry(staff_ids[id(person)], position=position, is_admin=is_admin)
        for person, position, is_admin in staff
    ]
    if region.commuter is not None and "password" in region.commuter[2]:
        for entry in staff_entries:
            if entry["login"] == region.commuter[0].login:
                entry["password"] = region.commuter[2]["password"]
    organization = {
        "code": code,
        "name": name,
        "short_name": short_name,
        "disciplines": [{"id": d, "name": n} for n, d in disciplines.items()],
        "staff": staff_entries,
        "groups": group_entries,
        "students": student_entries,
        "parents": parent_entries,
        "teaching": teaching_entries,
        "lessons": lesson_entries,
    }
    return organization, {person.login: (person, pool) for person, pool in teachers}


def iter_organizations(
    *,
    orgs: int = 1,
    groups: int = 8,
    students: int = 20,
    seed: int = 1,
    today: dt.date,
    passwords: bool = True,
) -> Iterator[dict]:
    """The region's colleges one at a time, so a large region never sits in memory whole.

    The first college carries the demo password on its demo accounts (when `passwords`);
    from the second on, each college has a part-time teacher of the college before it.
    """
    for name, value in (("orgs", orgs), ("groups", groups), ("students", students)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    region = _Region()
    for index in range(orgs):
        organization, teachers = _build_organization(
            index, region=region, groups=groups, students=students, seed=seed, today=today
        )
        if index == 0 and passwords:
            demo_logins = {a.login for a in demo_accounts({"organizations": [organization]})}
            for kind in ("staff", "students", "parents"):
                for entry in organization[kind]:
                    if entry["login"] in demo_logins:
                        entry["password"] = DEMO_PASSWORD
        previous = region.commuter[0].login if region.commuter else None
        entry = _free_teacher(organization, exclude=previous)
        region.commuter = (*teachers[entry["login"]], entry) if entry else None
        yield organization


def build_document(
    *, orgs: int = 1, groups: int = 8, students: int = 20, seed: int = 1, today: dt.date
) -> dict:
    """An `epos-directory/1` document of `orgs` colleges with `groups` groups of `students`."""
    colleges = iter_organizations(
        orgs=orgs, groups=groups, students=students, seed=seed, today=today
    )
    return {"format": FORMAT, "organizations": list(colleges)}


def _free_teacher(org: dict, exclude: str | None = None) -> dict | None:
    """The first teacher who curates no group and is no parent here."""
    teaching = {t for record in org["teaching"] for t in record["teachers"]}
    curators = {c for group in org["groups"] for c in group["curators"]}
    parents = {p["login"] for p in org["parents"]}
    return next(
        (
            s
            for s in org["staff"]
            if s["id"] in teaching
            and s["id"] not in curators
            and s["login"] not in parents
            and s["login"] != exclude
        ),
        None,
    )


@dataclass(frozen=True)
class DemoAccount:
    role: str
    login: str
    password: str
    full_name: str
    description: str


def demo_accounts(document: dict) -> list[DemoAccount]:
    """One sign-in per role in the document's first college, with what it shows off."""
    org, *others = document["organizations"]
    parents_by_login = {p["login"]: p for p in org["parents"]}
    staff_logins = {s["login"] for s in org["staff"]}
    teaching = {t for record in org["teaching"] for t in record["teachers"]}
    groups = {g["id"]: g for g in org["groups"]}
    students = {s["id"]: s for s in org["students"]}
    curated: dict[str, dict] = {}
    for group in org["groups"]:
        for curator in group["curators"]:
            curated.setdefault(curator, group)

    def fio(entry: dict) -> str:
        return " ".join(
            p for p in (entry["last_name"], entry["first_name"], entry["middle_name"]) if p
        )

    def first(entries, condition):
        return next((e for e in entries if condition(e)), None)

    def account(role: str, entry: dict | None, description: str) -> None:
        if entry is not None:
            accounts.append(
                DemoAccount(role, entry["login"], DEMO_PASSWORD, fio(entry), description)
            )

    def child_of(parent: dict) -> str:
        child = students[parent["children"][0]]
        return f"{fio(child)} ({groups[child['group']]['name']})"

    accounts: list[DemoAccount] = []
    staff = org["staff"]
    admin = first(staff, lambda s: s["is_admin"])
    account(
        "Администратор ОО",
        admin,
        f"{admin['position'] if admin else ''}: видит все чаты колледжа, настраивает "
        "необязательные и создаёт онлайн-звонки в любом.",
    )
    curator = first(
        staff,
        lambda s: s["id"] in curated and s["id"] in teaching and s["login"] not in parents_by_login,
    )
    group = curated[curator["id"]]["name"] if curator else ""
    account(
        "Преподаватель-куратор",
        curator,
        f"Куратор группы {group}: администратор обязательных чатов «Группа {group}» и "
        f"«Родители {group}»; ведёт дисциплины, создаёт чаты «Дисциплина».",
    )
    free = _free_teacher(org)
    elsewhere = [
        o["short_name"]
        for o in others
        if free and any(s["login"] == free["login"] for s in o["staff"])
    ]
    account(
        "Преподаватель (без кураторства)",
        free,
        "Ведёт дисциплины, создаёт чаты «Дисциплина» и произвольные; из обязательных состоит "
        "только в «Преподаватели»."
        + (
            f" Работает также в {', '.join(elsewhere)}: колледж выбирается в шапке."
            if elsewhere
            else ""
        ),
    )
    both = first(staff, lambda s: s["login"] in parents_by_login)
    account(
        "Преподаватель и родитель",
        both,
        f"Одна учётная запись, две роли: преподаватель и родитель обучающегося "
        f"{child_of(parents_by_login[both['login']]) if both else ''}.",
    )
    other = first(
        staff, lambda s: s["position"] == "Социальный педагог" and s["id"] not in teaching
    ) or first(staff, lambda s: not s["is_admin"] and s["id"] not in teaching)
    account(
        "Сотрудник (не преподаватель)",
        other,
        f"{other['position'] if other else ''}: состоит в чате «Преподаватели», "
        "дисциплин не ведёт.",
    )
    # The demo student is in the demo curator's group (a college of one group has none), with a
    # parent who is not on the staff.
    has_family = {
        child for p in org["parents"] if p["login"] not in staff_logins for child in p["children"]
    }
    demo_group = curated[curator["id"]]["id"] if curator else None
    student = first(
        org["students"],
        lambda s: s["group"] == (demo_group or s["group"]) and s["id"] in has_family,
    )
    group = groups[student["group"]]["name"] if student else ""
    account(
        "Обучающийся",
        student,
        f"Обучающийся группы {group}: участник чата «Группа {group}» и чатов по дисциплинам.",
    )
    parent = (
        first(
            org["parents"],
            lambda p: student["id"] in p["children"] and p["login"] not in staff_logins,
        )
        if student
        else None
    )
    account(
        "Родитель",
        parent,
        f"Родитель обучающегося {child_of(parent) if parent else ''}: участник чата "
        f"«Родители {group}».",
    )
    return accounts


def vk_linked_logins(document: dict, *, seed: int = 1) -> list[str]:
    """Who in the document has linked a «учебный профиль VK ID», in a stable order.

    In each college a `seed`-chosen share of staff, students and parents (VK_LINK_SHARES), plus
    every demo account except the parent's: signing in as that parent shows the «VK Мессенджер»
    block as it is before a link (F8).
    """
    rng = random.Random(f"vk-id-{seed}")
    accounts = demo_accounts(document)
    unlinked = {a.login for a in accounts if a.role == UNLINKED_DEMO_ROLE}
    linked = dict.fromkeys(a.login for a in accounts if a.login not in unlinked)
    for org in document["organizations"]:
        for kind, share in VK_LINK_SHARES.items():
            logins = [entry["login"] for entry in org[kind]]
            # The demo accounts count towards the share, so it stays what it says.
            wanted = round(len(logins) * share) - sum(login in linked for login in logins)
            free = [login for login in logins if login not in linked and login not in unlinked]
            linked.update(dict.fromkeys(rng.sample(free, max(0, min(wanted, len(free))))))
    return list(linked)
