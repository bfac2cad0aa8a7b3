"""The stored histories every version must replay, and record.py, which records new ones."""
