"""The consumer service: runs the listener containers and shows their state over HTTP."""
