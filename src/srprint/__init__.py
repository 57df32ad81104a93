"""srprint: read the fingerprints that super-resolution and restoration networks leave behind."""

__version__ = "0.1.0"
