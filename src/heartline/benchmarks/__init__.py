"""Benchmarks that print a table and write JSON: speed, memory and quality on this machine."""
