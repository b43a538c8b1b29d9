"""Committed generated files are what their command generates now."""

from pathlib import Path

from casebook import book

ROOT = Path(__file__).resolve().parents[1]


def test_readme_figures_are_current(tmp_path):
    for path in book.readme_figures(tmp_path):
        committed = ROOT / "_static" / path.name
        assert committed.exists(), f"{committed} is missing: run `casebook book figures`"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run `casebook book figures` and commit it"
        )


def test_every_chapter_and_exercise_has_the_current_install_cell():
    stale = book.install_cells(ROOT)
    assert not stale, f"{stale}: run `casebook book install-cells` and commit them"


def test_the_install_cell_installs_from_the_configured_repository_only_where_needed(tmp_path):
    from IPython.core.inputtransformer2 import TransformerManager

    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://github.com/a-fork/cnn-book/\n  branch: spring\n"
    )
    source = book.install_cell_source(tmp_path)
    assert '"casebook @ git+https://github.com/a-fork/cnn-book@spring"' in source
    assert "raw.githubusercontent.com/a-fork/cnn-book/spring/requirements-data.txt" in source
    python = TransformerManager().transform_cell(source)
    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append((name, line))

    exec(python, {"get_ipython": Shell})  # casebook is installed here: nothing to do
    assert calls == []
    exec(
        python.replace('find_spec("casebook")', 'find_spec("no_such_package")'),
        {"get_ipython": Shell},
    )
    assert [name for name, _ in calls] == ["pip", "pip"]
