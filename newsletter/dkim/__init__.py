"""DKIM, all of it: signing a message (sign.py: our own RFC 6376 signer, c=relaxed/simple,
RSA through `cryptography`), a publication's private key (keys.py: read where the
publication says, generated for `newsletter dkim keygen`, the DNS record to publish) and
`newsletter dkim check` (check.py: a sample digest signed and verified by dkimpy, an
implementation independent of ours). render/ signs with it; delivery/ and mail/ pick a
publication's signer here; the command line's `dkim` commands are cli/dkim.py."""
