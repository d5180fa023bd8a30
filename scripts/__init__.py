"""Developer scripts run from a checkout (not part of the kdrtui wheel): ``screenshots.py``."""
