"""Figures the chapters show, drawn with matplotlib only, a module for each kind of figure.

Every function returns a :class:`matplotlib.figure.Figure` built with the object API and never
calls ``plt.show``: a notebook displays the returned figure, a script saves it with
``fig.savefig(...)``.  Nothing here picks a backend; the notebook (or the test) decides.

- :func:`architecture_diagram` the classic left-to-right paper figure of a Keras model
- :func:`block_diagram`        one block or module (its branches and shortcuts) as a graph
- :func:`cost_bars`            parameters and multiply-accumulates side by side
- :func:`training_curves`      training (solid) and validation (dashed) curves per run
- :func:`sample_predictions`   a grid of images titled "pred (true)", green when right
- :func:`image_grid`           a plain grid of data samples
- :func:`sweep`                a measured value against a swept setting, with a baseline
- :func:`grouped_bars`         a few quantities side by side for each of many named items

All figures share one calm style, taken from :data:`PALETTE`.
"""

from casebook.figures.architecture import architecture_diagram
from casebook.figures.bars import cost_bars, grouped_bars, sweep
from casebook.figures.blocks import block_diagram
from casebook.figures.curves import training_curves
from casebook.figures.images import image_grid, sample_predictions
from casebook.figures.style import PALETTE

__all__ = [
    "PALETTE",
    "architecture_diagram",
    "block_diagram",
    "cost_bars",
    "training_curves",
    "sample_predictions",
    "image_grid",
    "sweep",
    "grouped_bars",
]
