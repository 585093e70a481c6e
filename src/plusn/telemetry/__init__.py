"""Traces of the request path, exported over OTLP to the tracing stack a platform team runs."""
