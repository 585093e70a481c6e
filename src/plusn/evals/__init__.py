"""Evaluation on the customer's own data: routing, and later retrieval and safety."""
