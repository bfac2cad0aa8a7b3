"""The benchmark: the engine next to bare Temporal on the embedded dev server (`make bench`)."""
