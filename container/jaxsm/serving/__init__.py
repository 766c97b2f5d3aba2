"""Serving: the single-process HTTP server, request batching and the built-in handler."""
