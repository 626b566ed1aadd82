"""The hosted platform: accounts, organisations, projects, memberships and API keys."""
