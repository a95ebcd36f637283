"""Statistics: equity metrics, survival (Aalen-Johansen), paired differences."""
