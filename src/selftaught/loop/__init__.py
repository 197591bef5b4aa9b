"""The round loop and its run directory."""
