"""``python -m casebook.book``: the same as ``casebook book``."""

import sys

from casebook.book.cli import main

sys.exit(main())
