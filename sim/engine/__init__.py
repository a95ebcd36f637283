"""The simulation engine: population, hazards, the weekly loop in two engines."""
