"""Core records, config, run-directory I/O."""
