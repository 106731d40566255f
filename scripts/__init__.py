"""Developer commands run by ./dev (python -m scripts.<name>)."""
