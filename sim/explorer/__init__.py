"""The interactive explorer: model adapter and Solara page."""
