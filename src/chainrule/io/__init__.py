"""Reading inputs and writing outputs whole or not at all; strict JSON."""
