"""Tools a model may call during a reply: the app's own, and those of MCP servers.

`base` is the contract between where tools come from (built-in, MCP) and the tool loop that
runs them inside a generation; nothing here knows Flask, the page or the database.
"""
