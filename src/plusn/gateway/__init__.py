"""The HTTP edge: an OpenAI-compatible API over the fleet."""
