"""Where the study's stages used to find the table writer: it lives in :mod:`srprint.result_tables`
(the bottom layer), and this name stays for the protocols and scripts that import it from here."""

from ..result_tables import library_versions, markdown_header, run_environment, write_table

__all__ = ["library_versions", "markdown_header", "run_environment", "write_table"]
