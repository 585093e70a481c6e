"""The response cache: answers kept per tenant and scope, found again by exact text or meaning."""
