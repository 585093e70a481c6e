"""Dispatch: rules, intents, learned cost-quality routing, cascades and sticky sessions."""
