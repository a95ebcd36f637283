"""The evidence registry, conversions between effect measures, trials."""
