"""linkbrief: brief links dropped in chat — summary, attributed claims, verified quotes."""

__version__ = "0.1.0"
