"""`python -m bench NAME|all [--scale small|region] [--json]`: run one benchmark of this
package by its module name, or every benchmark of issue 9 in turn (`all`), each in its own
process so that memory figures and settings stay its own. The exit code is non-zero when any
goal is missed (goals are checked at region scale only) or a benchmark fails."""

import importlib
import pkgutil
import subprocess
import sys

import bench

ALL = ("nightly", "workers", "page", "picker", "push", "dashboard")
HELPERS = {"common", "urls"}  # modules of the package that are not benchmarks


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if not m.name.startswith("_") and m.name not in HELPERS
    )


def run_all(rest: list[str]) -> int:
    failed = []
    for name in ALL:
        code = subprocess.call([sys.executable, "-m", "bench", name, *rest])
        if code:
            failed.append(f"{name} (код {code})")
    if failed:
        print("Не выполнено: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "Использование: python -m bench ИМЯ|all [--scale small|region] [--json]\n"
            "Бенчмарки: " + ", ".join(names)
        )
        return 0 if argv else 2
    name, *rest = argv
    if name == "all":
        return run_all(rest)
    if name not in names:
        print(f"Нет бенчмарка «{name}». Есть: all, {', '.join(names)}", file=sys.stderr)
        return 2
    return importlib.import_module(f"bench.{name}").main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
