"""Metering: one ledger row per request, metrics, usage reports."""
