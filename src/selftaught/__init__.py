"""selftaught: a language model improves its own reasoning (sample, check, select, train, repeat)."""

__version__ = "0.1.0"
