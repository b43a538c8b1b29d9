"""The instructor's tools for the graded exercises, on nbgrader 0.9.6.

``release`` (student versions from ``solutions/``), ``submissions`` (what a folder of them
holds), ``worker`` (one submission graded in a scratch course), ``grade`` (a folder of them into
the gradebook), ``gradebook`` (feedback, export, collect), ``hidden_tests`` and ``sandbox`` (the
nbgrader plug-ins named in ``autograder/nbgrader_config.py``), ``kernel_guard`` (what a grading
kernel runs first, so test cells start from pristine builtins), ``throughput`` (submissions graded
per minute) and ``cli`` (``casebook course``). Kept free of imports: every grading kernel starts
through ``python -m casebook.course.sandbox``.
"""
