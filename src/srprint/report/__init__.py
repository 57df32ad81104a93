"""``srprint report``: one self-contained HTML page of a study's tables and figures.

:mod:`.collect` reads what a study folder holds (zoo records, attribution and PRNU evaluations, the
demo's verdicts, provenance) and marks what is missing as "not run" with the command that makes it;
:mod:`.figures` draws the population figure; :mod:`.html` fills the Jinja2 template with every image
embedded, so the page opens from disk with no network.
"""
