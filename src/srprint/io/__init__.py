"""Image I/O, atomic writes and safe checkpoint loading."""
