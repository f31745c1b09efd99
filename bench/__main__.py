"""`python -m bench NAME [ARGS]`: run one benchmark of this package by its module name."""

import importlib
import pkgutil
import sys

import bench


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print("Использование: python -m bench ИМЯ [АРГУМЕНТЫ]\nБенчмарки: " + ", ".join(names))
        return 0 if argv else 2
    name, *rest = argv
    if name not in names:
        print(f"Нет бенчмарка «{name}». Есть: {', '.join(names)}", file=sys.stderr)
        return 2
    return importlib.import_module(f"bench.{name}").main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
