"""Tests without a server: the case model and its table, the SLA arithmetic, templates, codecs,
the simulator, and replay of the stored histories."""
