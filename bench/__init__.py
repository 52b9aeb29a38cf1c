"""Benchmarks (`python -m bench`); not timed tests, numbers for the README."""
