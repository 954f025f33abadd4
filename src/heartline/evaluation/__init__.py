"""Evaluation: reference-exact metrics and scoring of saved outputs."""
