"""The bridge to PyTorch. Needs the ``torch`` extra."""
