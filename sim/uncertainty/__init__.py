"""Uncertainty analyses as pure functions (global sensitivity so far)."""
