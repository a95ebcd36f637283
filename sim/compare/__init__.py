"""Designs against usual care: sweeps, aggregation and the HTML report."""
