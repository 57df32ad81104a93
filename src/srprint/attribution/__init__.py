"""Model attribution: which SR model made this image? (CNN classifier, open set, PRNU baseline).

The classifier itself is the shared engine in :mod:`srprint.classify`; this package holds what
attribution adds on top: its tables and figures, ``attribute predict``, the PRNU baseline and
tracing by model inversion.
"""
