"""What counts as this machine, and how a request to another host is named in the log.

Only the name as written decides: `localhost` and loopback addresses are this machine, every
other name is not. A name is never looked up in DNS to decide, because the lookup itself would
leave the computer (and a name can be made to resolve to anything)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_this_machine(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a request goes, as the log shows it: the host (with the port when it is not the
    scheme's own) and the path without its query string, which may carry a key."""

    hostname: str
    host: str
    path: str

    @classmethod
    def of(cls, url: str) -> Destination:
        parts = urlsplit(url)
        hostname = (parts.hostname or "").lower()
        shown = f"[{hostname}]" if ":" in hostname else hostname
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is not None and port != DEFAULT_PORTS.get(parts.scheme.lower()):
            shown = f"{shown}:{port}"
        return cls(hostname, shown, parts.path or "/")

    @property
    def local(self) -> bool:
        return is_this_machine(self.hostname)
