"""The web console's static files (served at /ui by plusn.gateway.console)."""
