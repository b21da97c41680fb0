"""The desktop app: the native window around the chat page, and what it needs from the system."""
