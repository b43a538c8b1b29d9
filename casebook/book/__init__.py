"""The book's build: execute the chapter notebooks once per profile and build the book from
those executions.

    casebook book execute [--profile cpu] [--force] [NOTEBOOK ...]
    casebook book build   [--profile cpu]
    casebook book site    [--profile cpu]  (build from the executions there are)
    casebook book mathjax  (fetches MathJax once, for pages that work offline)
    casebook book figures  (redraws the README's figures in _static/)
    casebook book install-cells  (puts the install cell in chapters and exercises)

``execute`` runs each chapter with papermill, injecting the profile and seed, into
``_build/executed/<profile>/`` and the facts each chapter verified into
``_build/facts/<profile>/``, with a record of each page's run in ``_build/runs/<profile>/``
(inputs hash, settings, seconds, status). An execution is reused while its inputs are unchanged
(a hash of the notebook's code cells, the package modules it imports, its settings and
references and the library versions), so the tests and the book share one run; prose edited
since the run is dressed onto its outputs when the book is staged. A copy of each execution is
also kept under that hash outside the clone (``$CASEBOOK_EXECUTION_CACHE``, by default
``executions`` in the package's cache, ``~/.cache/casebook``; ``off`` turns it off), so a fresh
clone of unchanged pages does not train them again. ``build`` stages the book sources with the
executed notebooks and runs Jupyter Book with execution off and Sphinx warnings as errors. The
pages load MathJax from the site itself (a copy fetched once with ``npm pack`` into
``_build/vendor``), never from a CDN, so the book reads offline.

Modules: ``pages`` (the table of contents), ``inputs`` (what an execution depends on), ``cache``
(executions kept under that hash), ``runs`` (each page's run record), ``executor`` (papermill,
one progress line a page, the noise in a log per page), ``site`` (staging and Jupyter Book),
``mathjax``, ``sphinx`` (the book's extension), ``figures``, ``install_cells``, ``gpu_runs``
(full-profile runs kept with the book), ``timings`` (``casebook bench``) and ``cli``.
"""

from casebook.book.cache import cached, execution_files, keep, restore, shared_cache
from casebook.book.executor import (
    PageTimeout,
    execute,
    execute_with_papermill,
    kernel_environment,
    kernel_name,
    output_to,
    run_page,
    time_limit,
)
from casebook.book.figures import readme_figures
from casebook.book.inputs import (
    chapter_modules,
    code_of,
    dress,
    execution_inputs,
    inputs_hash,
    library_versions,
    module_files,
    tags_of,
)
from casebook.book.install_cells import install_cell_source, install_cells
from casebook.book.mathjax import MATHJAX, mathjax
from casebook.book.pages import (
    PACKAGE,
    build_dir,
    chapter_notebooks,
    page_name,
    repo_root,
    resolve,
    toc_files,
)
from casebook.book.runs import facts_file, run_file
from casebook.book.site import OFFLINE, VERIFICATION, build, site, stage, verify_page

__all__ = [
    "OFFLINE",
    "resolve",
    "MATHJAX",
    "PACKAGE",
    "VERIFICATION",
    "build",
    "build_dir",
    "cached",
    "chapter_modules",
    "chapter_notebooks",
    "code_of",
    "dress",
    "execute",
    "execute_with_papermill",
    "execution_inputs",
    "inputs_hash",
    "install_cell_source",
    "install_cells",
    "keep",
    "kernel_environment",
    "kernel_name",
    "library_versions",
    "mathjax",
    "module_files",
    "page_name",
    "readme_figures",
    "repo_root",
    "restore",
    "facts_file",
    "run_file",
    "execution_files",
    "output_to",
    "time_limit",
    "PageTimeout",
    "run_page",
    "shared_cache",
    "site",
    "stage",
    "tags_of",
    "toc_files",
    "verify_page",
]
