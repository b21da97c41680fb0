"""OpenChat Desktop: a private, local-first AI chat app."""

__version__ = "0.1.0"
