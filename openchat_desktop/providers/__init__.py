"""Talking to model servers: wire parsers, one provider per protocol, and the router.

Providers know nothing of Flask, the database or the page: they turn a
`ChatRequest` into a stream of small `Event` objects and raise `ProviderError`s.
"""
