"""Channel connectors: one folder per channel, registered in ``registry.py``."""
