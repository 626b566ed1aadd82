"""What a platform learns while it runs: self-registered instances, shadow comparisons.

A Django app (`plugit_registry`): its tables live in the platform's database, so every
process of a platform (PostgreSQL when configured, the embedded SQLite file otherwise) sees
the same instances and the same counts (docs/routing.md).
"""
