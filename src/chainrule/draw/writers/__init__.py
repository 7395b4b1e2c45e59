"""One writer per format; each reads a ``Drawing`` (and a ``Layout`` where it needs positions)
and escapes every label for its format with one function of its own."""
