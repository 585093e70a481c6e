"""plusn: one private OpenAI-compatible endpoint over a 1+N fleet of models."""

__version__ = "0.1.0"
