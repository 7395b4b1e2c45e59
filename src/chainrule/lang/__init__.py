"""The text layer: the program language, what every node is called, and how expressions and
partials are written in text and LaTeX."""
