"""``casebook``: one command for the book, the course and the measurements.

    casebook book build|execute|site|mathjax|figures|install-cells [--profile cpu] ...
    casebook course release|collect|grade|feedback|export ...
    casebook bench [--quick] [--students N] [--profile P]     (where the time goes)
    casebook bench-grading [--students 100] [--jobs 1,2]      (submissions graded per minute)
    casebook gpu-runs record RESULTS_FOLDER LOG --commit SHA  (keep a full-profile GPU run)

Each subcommand is its module's own command line; ``casebook SUBCOMMAND --help`` lists its
options. The modules load only when their subcommand runs, so ``casebook course`` never imports
the book's build and the other way round.
"""

import importlib
import sys

COMMANDS = {
    "book": "casebook.book.cli",
    "course": "casebook.course.cli",
    "bench": "casebook.book.timings",
    "bench-grading": "casebook.course.throughput",
    "gpu-runs": "casebook.book.gpu_runs",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(
            f"casebook: no subcommand {argv[0]!r}; choose one of {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
