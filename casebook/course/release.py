"""``casebook course release``: the student versions in ``autograder/release/``, generated
from ``solutions/`` (``--check`` fails naming each stale file)."""

from __future__ import annotations

import filecmp
import tempfile
import time
from pathlib import Path

from traitlets.config import Config

from casebook.course.config import CourseError, assignments_in, course_path, generate


def release(config: Config, assignments: list[str], check: bool) -> int:
    known = assignments_in(config)
    unknown = sorted(set(assignments) - set(known))
    if unknown:
        raise CourseError(
            f"no such assignment in {course_path(config, 'source_directory')}: {unknown}"
        )
    assignments = assignments or list(known)
    committed = course_path(config, "release_directory")
    with tempfile.TemporaryDirectory(prefix="casebook-release-") as tmp:
        target = Path(tmp) / "release" if check else committed
        for assignment in assignments:
            start = time.perf_counter()
            generate(config, assignment, Path(tmp) / "course", target)
            if not check:
                print(
                    f"released {assignment} -> {target / assignment} "
                    f"({time.perf_counter() - start:.1f} s)"
                )
        if not check:
            return 0
        problems = []
        for assignment in assignments:
            new, old = target / assignment, committed / assignment
            names = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
            names |= {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
            for name in sorted(names):
                shown = old / name
                if not (new / name).exists():
                    problems.append(f"{shown}: no longer generated (delete it)")
                elif not shown.exists():
                    problems.append(f"{shown}: missing")
                elif not filecmp.cmp(new / name, shown, shallow=False):
                    problems.append(f"{shown}: stale")
    if problems:
        print("The committed release is not what the sources generate:", *problems, sep="\n  ")
        print("Run `casebook course release` and commit the result.")
        return 1
    print(f"release is current: {', '.join(assignments)}")
    return 0
