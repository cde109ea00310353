"""Fetching a feed over HTTP without letting it reach inside the network.

A feed URL is written by an operator, but where it leads is decided by DNS and by the
server's redirects, so every hop is checked the same way: the host name is resolved,
every address it resolves to must be a public one (not loopback, private, link-local,
shared, multicast or reserved), and the connection is made to one of those checked
addresses, so a second DNS answer (DNS rebinding) cannot switch it to another. TLS still
verifies the certificate for the host name. A feed explicitly allowed to
(`allow_private = true`) may fetch private addresses of its own host and port only (the
URL's): its redirects to any other host or port are checked like anyone's, so a feed on
an internal server cannot be bounced into the database's port. An error after a
redirect names where it went (scheme, host, port and path; never the query).

Also: conditional GET (ETag, Last-Modified: a 304 is an answer, not an error), one
deadline for the whole fetch (a server that drips bytes cannot hold a poller), a size
limit, at most a few redirects, http and https only. The standard library's
http.client does the protocol; this module only decides where it may connect.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from newsletter.errors import Unavailable

USER_AGENT = "newsletter-feed-poller/1 (+conditional GET)"
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
Policy = Callable[[IP], str | None]  # None: allowed; else why not


class FetchError(Unavailable):
    """The feed could not be fetched; `retry_after` (seconds) when the server said when."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AddressRefused(FetchError):
    """The URL leads to an address this feed may not fetch."""


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 (not modified: no body)
    body: bytes
    etag: str
    last_modified: str
    url: str  # after redirects


def public_only(ip: IP) -> str | None:
    """Why an address may not be fetched by a feed (None: it is a public unicast address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return public_only(ip.ipv4_mapped)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    if not ip.is_global:
        return "a private address"
    return None


def anything(ip: IP) -> str | None:
    return None


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


HINT = " (set allow_private = true on a feed that must fetch it)"


def checked_addresses(host: str, port: int, resolve: Resolver, policy: Policy, hint: str = HINT) -> list[str]:
    """Every address of `host`, each allowed by `policy`, or AddressRefused naming the first that is not."""
    addresses = resolve(host, port)
    if not addresses:
        raise FetchError(f"{host} has no address")
    for address in addresses:
        why = policy(ipaddress.ip_address(address.split("%", 1)[0]))
        if why:
            raise AddressRefused(f"refused: {host} resolves to {address}, {why}{hint}")
    return addresses


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise FetchError(f"cannot connect: {last}")


class _PinnedHTTP(http.client.HTTPConnection):
    """Talks to `host` (Host header) at one of the addresses checked for it."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)

    def close(self) -> None:
        """getresponse() closes the connection of a response that ends it; the socket stays
        open (its timeout is the fetch's deadline) until `release` after the body is read."""

    def release(self) -> None:
        super().close()


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(sock, server_hostname=self.host)  # verified for the name


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 20.0,
          max_bytes: int = 10 * 1024 * 1024, allow_private: bool = False,
          resolve: Resolver = system_resolver, policy: Policy | None = None) -> Fetched:
    """GET `url`, following redirects, each hop checked. FetchError on anything but 200/304."""
    first = urlsplit(url)
    own = (first.hostname, first.port or (443 if first.scheme == "https" else 80))
    deadline = time.monotonic() + timeout
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url[:200]}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        elsewhere = allow_private and (parts.hostname, port) != own  # a redirect off the feed's own host:port
        hop = policy or (public_only if elsewhere or not allow_private else anything)
        try:
            addresses = checked_addresses(parts.hostname, port, resolve, hop, "" if elsewhere else HINT)
        except FetchError as exc:
            raise type(exc)(_after_redirect(str(exc), url, first, elsewhere)) from None
        cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = cls(parts.hostname, port, addresses, _left(deadline, timeout))
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in REDIRECTS and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status == 304:
                return Fetched(304, b"", response.getheader("ETag") or etag,
                               response.getheader("Last-Modified") or last_modified, url)
            if response.status != 200:
                raise FetchError(_after_redirect(f"HTTP {response.status} {response.reason}".strip(), url, first),
                                 _retry_after(response.getheader("Retry-After")))
            body = _read(conn.sock, response, deadline, timeout, max_bytes)
            return Fetched(200, body, response.getheader("ETag") or "", response.getheader("Last-Modified") or "",
                           url)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                raise FetchError(_after_redirect(f"no answer within {timeout:g}s", url, first)) from None
            raise FetchError(_after_redirect(f"{type(exc).__name__}: {exc}", url, first)) from None
        finally:
            conn.release()
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def shown(url: str) -> str:
    """A URL as errors name it: scheme, host, port and path (a query may hold a key)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.rpartition('@')[2]}{p.path or '/'}"[:300]


def _after_redirect(message: str, url: str, first, private_elsewhere: bool = False) -> str:
    """The error as it is, or saying which redirect it met, and (for a feed allowed private
    addresses, led elsewhere) that the permission holds for its own host and port only."""
    if url == first.geturl():
        return message
    message = f"{message} (after a redirect to {shown(url)})"
    if private_elsewhere:
        port = first.port or (443 if first.scheme == "https" else 80)
        message += f"; allow_private covers only the feed's own {first.hostname}:{port}"
    return message


def _left(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"no answer within {timeout:g}s")
    return left


def _read(sock: socket.socket, response, deadline: float, timeout: float, max_bytes: int) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"feed larger than {max_bytes} bytes ({length})")
    chunks, size = [], 0
    while True:
        sock.settimeout(_left(deadline, timeout))
        chunk = response.read(min(65536, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"feed larger than {max_bytes} bytes")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
