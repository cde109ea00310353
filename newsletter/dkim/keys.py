"""A publication's DKIM key: read where the publication says (a file, or an environment
variable named in the publications file), and generated for `newsletter dkim keygen`.

The key is read by the process that signs, when it starts on an edition, so a worker
without the key refuses to send instead of sending unsigned mail. Errors say which
publication and where the key was looked for; they never hold key material.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.dkim.sign import DkimKeyError, DkimSigner, load_private_key, public_key_record
from newsletter.errors import ConfigurationError, Conflict, InvalidInput
from newsletter.publications.models import Publication

KEY_SIZES = (2048, 3072, 4096)


def key_source(pub: Publication) -> str:
    """Where the key is looked for, for messages (a path or a variable's name, never the key)."""
    if pub.dkim_key_env:
        return f"environment variable {pub.dkim_key_env}"
    return f"file {pub.dkim_key_file}"


def private_key_for(pub: Publication, environ: Mapping[str, str] | None = None) -> rsa.RSAPrivateKey:
    where = f"publication {pub.slug!r}: DKIM key ({key_source(pub)})"
    if pub.dkim_key_env:
        value = (os.environ if environ is None else environ).get(pub.dkim_key_env, "")
        if not value.strip():
            raise ConfigurationError(f"{where}: the variable is not set in this process")
        if "\n" not in value:  # a PEM in a one-line env file, its line breaks written \n
            value = value.replace("\\n", "\n")
        pem = value.encode("utf-8", "replace")
    elif pub.dkim_key_file:
        try:
            pem = Path(pub.dkim_key_file).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot read it ({exc.strerror})") from None
    else:
        raise ConfigurationError(f"publication {pub.slug!r}: DKIM needs key_file or key_env")
    try:
        return load_private_key(pem)
    except DkimKeyError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def signer_for(pub: Publication, environ: Mapping[str, str] | None = None) -> DkimSigner | None:
    """The publication's signer, or None when it does not sign."""
    if not pub.dkim_domain:
        return None
    try:
        return DkimSigner(pub.dkim_domain, pub.dkim_selector, private_key_for(pub, environ), pub.dkim_algorithm)
    except DkimKeyError as exc:
        raise ConfigurationError(f"publication {pub.slug!r}: {exc}") from None


@dataclass(frozen=True)
class DnsRecord:
    name: str  # <selector>._domainkey.<domain>
    value: str  # v=DKIM1; k=rsa; p=...

    def zone_line(self) -> str:
        """For a zone file: TXT strings are at most 255 characters, so the value is split
        into quoted pieces that resolvers join back."""
        pieces = [self.value[i:i + 250] for i in range(0, len(self.value), 250)]
        return f'{self.name}. 3600 IN TXT ( ' + " ".join(f'"{p}"' for p in pieces) + " )"


def dns_record(domain: str, selector: str, public_key: rsa.RSAPublicKey) -> DnsRecord:
    return DnsRecord(f"{selector}._domainkey.{domain}", public_key_record(public_key))


@dataclass(frozen=True)
class GeneratedKey:
    private_path: Path
    public_path: Path
    record: DnsRecord


def generate_key(pub: Publication, directory: Path, *, selector: str, domain: str,
                 bits: int = 2048) -> GeneratedKey:
    """A new RSA key pair in `directory`: `<slug>.<selector>.private.pem` (mode 0600,
    never overwritten) and `<slug>.<selector>.public.pem`."""
    if bits not in KEY_SIZES:
        raise InvalidInput(f"--bits must be one of {', '.join(map(str, KEY_SIZES))}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / f"{pub.slug}.{selector}.private.pem"
    public_path = directory / f"{pub.slug}.{selector}.public.pem"
    try:
        # Created 0600 from the start: the key is never readable by others, not even briefly.
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{private_path} exists; choose another --selector or --dir "
                       "(a key in use is never overwritten)") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return GeneratedKey(private_path, public_path, dns_record(domain, selector, key.public_key()))
