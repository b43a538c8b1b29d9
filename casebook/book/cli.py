"""``casebook book``: execute the chapters, build the site, fetch MathJax, redraw the
README's figures, put the install cells in (``python -m casebook.book`` is the same)."""

import argparse
import os
import subprocess
import sys

from casebook.book.executor import execute
from casebook.book.figures import readme_figures
from casebook.book.install_cells import install_cells
from casebook.book.mathjax import mathjax
from casebook.book.pages import repo_root
from casebook.book.site import build, site


def main(argv=None):
    parser = argparse.ArgumentParser(prog="casebook book", description=__doc__.split("\n\n")[0])
    commands = ["execute", "build", "site", "mathjax", "figures", "install-cells"]
    parser.add_argument("command", choices=commands)
    parser.add_argument("notebooks", nargs="*", help="only these (path or file stem); default all")
    parser.add_argument("--profile", default=os.environ.get("CASEBOOK_PROFILE", "cpu"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="execute even if nothing changed")
    parser.add_argument(
        "--page-timeout", type=int, metavar="SECONDS", help="stop a page that runs longer"
    )
    args = parser.parse_intermixed_args(argv)  # `execute --profile full 01_lenet5` works too
    try:
        if args.command == "execute":
            execute(args.profile, args.seed, args.notebooks, args.force, None, args.page_timeout)
        elif args.command == "figures":
            print("\n".join(str(p) for p in readme_figures(repo_root() / "_static")))
        elif args.command == "mathjax":
            print(mathjax(repo_root()))
        elif args.command == "install-cells":
            print("\n".join(f"updated {path}" for path in install_cells(write=True)))
        elif args.command == "site":
            site(args.profile, args.seed)
        else:
            build(args.profile, args.seed)
    except (RuntimeError, ValueError, FileNotFoundError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
