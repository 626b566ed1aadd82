"""The polls example: a PlugIt service with its models, templates and media."""
