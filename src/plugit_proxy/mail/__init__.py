"""Mail on behalf of services: a durable outbox, and replies routed back to services."""
