"""Which known model is this checkpoint? The lineage index (``srprint lineage``).

``sketch``: a short functional vector per model; ``store``: the index folder (SQLite records + one
usearch vector file per ``(task, scale)``); ``build``: sketching entries through the executor and
adding them; ``relate``: confirming candidates with the ownership verdict and naming the relation;
``query``: one lookup; ``graph``: the family graph stored in the index; ``tree``: confirming at index
time and the directed lineage graph; ``cli``: the commands.
"""
