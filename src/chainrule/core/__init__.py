"""The engine: nodes, the graph, reverse and forward mode, the backends rules are written against,
kinds of value, limits and errors. Nothing here knows about text, files or drawings."""
