"""The proxy's API for services (docs/protocol.md §6)."""
