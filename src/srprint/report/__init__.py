"""``srprint report``: one self-contained HTML page of a study's tables and figures.

:mod:`.collect` reads what a study folder holds (zoo records, attribution and PRNU evaluations, the
demo's verdicts, provenance) and marks what is missing as "not run" with the command that makes it;
:mod:`.tables` reads a folder of result tables (the ``mini`` study's ``tables/``, or ``bench/results``
itself), which :mod:`.sections_attribution` and :mod:`.sections_results` turn into sections and
:mod:`.table_figures` into figures; :mod:`.claims` decides each headline claim by a fixed rule;
:mod:`.figures` draws the population figure; :mod:`.html` fills the Jinja2 template with every image
embedded, so the page opens from disk with no network.
"""
