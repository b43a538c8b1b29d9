"""The figures the README shows, drawn from the package's models."""

from pathlib import Path


def readme_figures(folder):
    """The figures the README shows, drawn from the package's models (``figures`` command)."""
    import matplotlib

    matplotlib.use("Agg")
    from casebook import figures, models

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figure = figures.architecture_diagram(
        models.lenet5(), title="LeNet-5, drawn from casebook.models.lenet5()"
    )
    path = folder / "lenet5_architecture.png"
    # No metadata: the same code and matplotlib give the same bytes, so staleness is testable.
    figure.savefig(path, dpi=100, metadata={"Software": None})
    return [path]
