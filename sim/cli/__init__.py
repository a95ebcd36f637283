"""Command lines: preflight checks, launchers, the analysis apps' plumbing."""
