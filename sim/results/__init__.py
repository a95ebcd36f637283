"""What a run produces: outcomes, economics, calibration, files, figures."""
