"""`newsletter dkim check`: a sample digest composed and signed the way deliveries are
(delivery/compose.py: sample_digest), its signature verified with dkimpy (an implementation independent of ours)
against the public key of the configured private key and, when asked, against the
key published in DNS.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dkim
from dkim.dnsplug import get_txt

from newsletter.dkim.keys import signer_for
from newsletter.errors import ConfigurationError
from newsletter.publications.models import Publication


@dataclass(frozen=True)
class Verification:
    against: str  # "configured key" or "DNS <name>"
    ok: bool
    detail: str


@dataclass
class CheckReport:
    domain: str
    selector: str
    signed_headers: list[str]
    message_bytes: int
    results: list[Verification] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


class _Collect:
    """A logger for dkimpy that keeps what it says, to report why a check failed."""

    def __init__(self):
        self.lines: list[str] = []

    def debug(self, msg, *args):
        pass

    info = debug

    def warning(self, msg, *args):
        self.lines.append(str(msg % args if args else msg))

    error = warning


def verify(message: bytes, record_for: Callable[[bytes], bytes | None]) -> tuple[bool, str]:
    """dkimpy's verdict; `record_for` answers the TXT lookup of `<s>._domainkey.<d>.`"""
    log = _Collect()
    ok = dkim.DKIM(message, logger=log).verify(dnsfunc=lambda name, timeout=5: record_for(name))
    return bool(ok), "signature verified" if ok else "; ".join(log.lines) or "signature does not verify"


def check_publication(pub: Publication, message: bytes, *, dns: bool = False,
                      resolve: Callable[[bytes], bytes | None] = get_txt) -> CheckReport:
    """`message`: a sample digest composed and signed like every delivery
    (delivery/compose.py: sample_digest)."""
    signer = signer_for(pub)
    if signer is None:
        raise ConfigurationError(f"publication {pub.slug!r} does not sign: its publications.dkim table is missing")
    head = message[:message.index(b"\r\n\r\n")].decode("ascii", "replace").replace("\r\n", "")
    h = re.search(r"\bh=([^;]*);", head)
    report = CheckReport(signer.domain, signer.selector,
                         [n.strip() for n in h.group(1).split(":")] if h else [], len(message))
    configured = signer.public_record().encode()
    ok, detail = verify(message, lambda name: configured)
    report.results.append(Verification("configured key", ok, detail))
    if dns:
        name = f"{signer.selector}._domainkey.{signer.domain}"
        published = resolve((name + ".").encode())
        if not published:
            report.results.append(Verification(f"DNS {name}", False, "no TXT record found"))
        else:
            ok, detail = verify(message, lambda _name: published)
            if not ok and _p(published) != _p(configured):
                detail = f"DNS publishes another public key than the configured private key's ({detail})"
            report.results.append(Verification(f"DNS {name}", ok, detail))
    return report


def _p(record: bytes) -> bytes:
    found = re.search(rb"\bp=([A-Za-z0-9+/=\s]*)", record)
    return re.sub(rb"\s", b"", found.group(1)) if found else b""
