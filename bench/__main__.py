"""Run benchmarks: ``python -m bench`` runs all, ``python -m bench availability`` one.

Each benchmark is a module ``bench.<name>`` with a ``main() -> None`` that measures,
writes ``bench/results/<name>.json`` (and a readable ``.md``) and prints a summary. To
add one, add its name to :data:`BENCHMARKS`.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "availability",
    "bookings",
    "providers_schedule",
    "notifications",
    "analytics",
    "discover",
    "pages",
    "booking_path",
    "scale",
    "soak",
    "faults",
    "report",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
