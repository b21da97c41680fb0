"""Requests to other hosts: local-only mode's refusal, and the log of what left this computer.

`Gate` decides and records; `adapter` puts it in front of a `requests` session, `hooks` in
front of an httpx client (the MCP SDK's). Requests to this machine pass untouched and unlogged.
"""

from __future__ import annotations

from .errors import LocalOnlyRefused
from .gate import Gate, Passage, Requester
from .log import OutboundLog

__all__ = ["Gate", "LocalOnlyRefused", "OutboundLog", "Passage", "Requester"]
