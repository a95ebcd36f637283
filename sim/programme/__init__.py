"""Programme designs: components, eligibility, capacity, hazard ratios."""
