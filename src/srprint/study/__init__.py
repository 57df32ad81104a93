"""``srprint study``: every stage of a study in order, resumable, ending with its HTML report.

:mod:`.run` holds the presets (the ordered stage lists), the stage bookkeeping (a finished stage's
summary is saved, so a rerun after a kill skips it) and the recipe guard; :mod:`.cli` the command.
``srprint demo`` is the ``demo`` preset.
"""
