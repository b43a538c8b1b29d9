"""Run in a grading kernel before any student code: it keeps the pristine builtins, so that
each test cell starts from them whatever the student's cells changed.

``casebook.course.sandbox`` executes ``install()`` silently first, and puts a call to
``restore(shadowed)`` at the top of every test cell.
"""

import builtins
import importlib
import sys

_state = {}


def install(user_ns):
    """Remember the builtins as they are now and the kernel's namespace."""
    # bound now: a student who replaces sys.modules.pop or importlib later changes nothing
    _state.update(
        pristine=dict(vars(builtins)),
        user_ns=user_ns,
        pop=sys.modules.pop,
        import_module=importlib.import_module,
    )


def restore(shadowed=()):
    """Undo changes to the builtins, drop globals that hide the builtins a test cell uses,
    and load casebook.grading afresh (its functions as written, whatever was patched)."""
    for name, value in _state["pristine"].items():
        if name not in ("_", "__", "___") and vars(builtins).get(name) is not value:
            setattr(builtins, name, value)
    for name in shadowed:
        _state["user_ns"].pop(name, None)
    _state["pop"]("casebook.grading", None)
    _state["import_module"]("casebook.grading")
