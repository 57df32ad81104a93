"""srprint's public Python API: one module per question, each a thin function over the library.

The functions are exported lazily from :mod:`srprint` itself (``srprint.trace``, ...); import them
from there. Every function takes its options by keyword, accepts ``device="auto"`` and returns a
frozen result (:class:`~srprint.api.results.Result`) with ``to_dict()``, ``to_json()`` and an HTML
table for notebooks.

Modules: :mod:`.results` (the result base), :mod:`.model` (the model descriptor, ``load_model``,
``load_zoo``, ``import_checkpoint``), :mod:`.images` (``super_resolve``, ``render``),
:mod:`.attribute`, :mod:`.parse`, :mod:`.trace`, :mod:`.verify`, :mod:`.study` (``study``, ``report``).
"""
