"""The Responses API: requests translated to the chat path, responses and their events, and
the conversations kept for ``previous_response_id``."""
