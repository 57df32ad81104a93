"""Corpus and render: the HR photo corpus, and the labelled SR dataset a zoo renders from it.

``corpus`` prepares the photos, ``run`` renders them (jobs in ``jobs``, labels and splits in
``labels``), ``manifest`` reads and filters the rendered dataset, ``cli`` holds ``srprint corpus``
and ``srprint render``, and ``demo`` the demo's render stage.
"""
