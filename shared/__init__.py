"""The library both services import."""
