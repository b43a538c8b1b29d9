"""``python -m casebook.course``: the same as ``casebook course``."""

import sys

from casebook.course.cli import main

sys.exit(main())
