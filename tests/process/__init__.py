"""Tests of the programs as people run them: `python worker.py`, `python -m gateway`, `python -m
starter`, the demo and the bench, each a real process."""
