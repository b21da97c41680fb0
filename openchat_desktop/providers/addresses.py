"""Where a provider may be, and when two provider addresses are the same place.

Any address a person can run a model server at is allowed: this machine, the local network
(Ollama on another computer is a real setup) and the internet. Refused are link-local
addresses (169.254.0.0/16, fe80::/10) and the clouds' metadata services: nobody serves models
there, and a request to them from a cloud machine hands out that machine's credentials.

The check is on the address as written; a host name is not looked up, so the settings check
works offline and gives the same answer every time.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = frozenset(
    {
        "metadata",  # Google Cloud, through the machine's search domain
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",  # AWS
        "instance-data.ec2.internal",
    }
)
"""Host names of metadata services, as the clouds' own machines resolve them."""

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Azure, Google Cloud, Oracle, DigitalOcean… (also link-local)
        "fd00:ec2::254",  # AWS over IPv6
        "fd20:ce::254",  # Google Cloud over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton reads as IPv4 (and so does the system's resolver): `2852039166`, `0xa9.0xfe.…`.
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")

REFUSAL = (
    "that is a link-local or cloud metadata address, which can hand out this computer's "
    "credentials; use the address of the model server itself"
)
"""Why an address is refused, worded to follow "<key> is <value>; "."""


def _ip_of(host: str) -> IPAddress | None:
    """The IP address a host is written as, in any form the system's resolver reads; None
    for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _LEGACY_IPV4.fullmatch(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return embedded
        return ipaddress.IPv6Address(address.compressed.partition("%")[0])  # no zone
    return address


def host_refusal(host: str) -> str | None:
    """Why a provider may not be at this host name or address, or None if it may."""
    name = host.strip().rstrip(".").lower()
    if name in METADATA_HOSTS:
        return REFUSAL
    address = _ip_of(name)
    if address is not None and (address.is_link_local or address in METADATA_ADDRESSES):
        return REFUSAL
    return None


def address_refusal(url: str) -> str | None:
    """Why a provider may not be at this URL, or None if it may (or it has no host)."""
    host = urlsplit(url.strip()).hostname
    return host_refusal(host) if host else None


def _place(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    host = (parts.hostname or "").rstrip(".")
    return scheme, host, port, parts.path.rstrip("/")


def same_address(first: str, second: str) -> bool:
    """Whether two provider addresses are the same place, however they are written (case, a
    default port, a trailing `/`). A key saved for one goes only to the same address."""
    try:
        return _place(first) == _place(second)
    except ValueError:  # a port that is not a number: no address to compare
        return False


def with_v1(url: str) -> str | None:
    """The address with `/v1` appended, where OpenAI-compatible servers (LM Studio, llama.cpp,
    vLLM, Ollama) serve their API; None if it ends in `/v1` already, so it is never doubled."""
    base = url.strip().rstrip("/")
    if urlsplit(base).path.lower().endswith("/v1"):
        return None
    return f"{base}/v1"
