"""The index: the one Whoosh schema, the store, the bulk writer, the ranking arrays and Whoosh's internals."""
