"""What a failure report says about its recipient: the rule for every report that arrives
after sending (a DSN, a plain-text bounce, a provider's event), in one place.

Suppress at once only on evidence about the address itself. The evidence is read from
the texts closest to the recipient first: the receiver's own reply (a DSN's
Diagnostic-Code from its reply code on, or a provider's diagnostic), what the reporting
relay wrote before that reply, then the lines of the notice that name the address, then
(when the notice is about that address alone) the rest of the notice. A refusal that
came when we named our sender ("after MAIL FROM") is about us, whatever it says. In the
first text that says something:

1. words of blocking, spam, policy, reputation, rate, authentication, the sender, the
   sending host, relaying, the content or a virus: a refusal of us, never of the reader
   (POLICY), whatever the code says;
2. words of a full mailbox: the mailbox exists (SOFT);
3. words of an unknown user, a closed account, an address that moved (HARD; SOFT...
   UNCERTAIN with a temporary code: the receiver itself says it may change);
4. words of a disabled or suspended account, which may come back (SOFT);
5. words of an unknown host or domain (HARD; UNCERTAIN with a temporary code);
6. a specific enhanced status code (RFC 3463), the receiver's own before the Status
   field, which is the reporting relay's translation: 5.1.1, 5.1.10 and 5.1.6 are about
   the address (HARD); 5.1.7/5.1.8 about our sender, 5.5.x our dialogue, 5.6.x and
   5.3.4 the message, 5.7.x policy (POLICY); 5.1.x otherwise UNCERTAIN; the other 5.x.x
   and every 4.x.x SOFT, but UNCERTAIN for a 5 whose text says the recipient was refused
   ("Recipient address rejected: Access denied") without saying why.

A generic status (x.0.0, X.5.0, none) says nothing by itself: when no text said
anything, the reply code decides: a 550, 551 or 553 is probably a dead address but not
proof (UNCERTAIN: suppressed at the second such report); 554 and 500-504 are refusals of
the transaction (POLICY); anything else, and a permanent status without a reply code,
UNCERTAIN for a 5, SOFT for a 4; no code at all is no proof (SOFT).

What each kind then does is process.py's business (models.BounceKind).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.bounces.models import BounceKind as K
from newsletter.transport.failures import Enhanced


def _words(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


_THING = r"(?:e-?mail )?(?:user|recipient|addressee|mail[ -]?box|address|account|local.?part|rcpt|person)"
POLICY_WORDS = _words(
    r"\bblock(?:ed|ing|list\w*)?\b", r"black ?list", r"\bdeny ?list", r"(?<!not )\blisted (?:at|on|in|by)\b",
    r"\b(?:rbl|dnsbl|spamhaus|spamcop|sorbs|uribl|surbl|barracudacentral)\b",
    r"spam", r"unsolicited", r"\bbulk\b", r"\bjunk\b", r"phish", r"\bpolic(?:y|ies)\b", r"prohibited",
    r"not (?:allowed|permitted|authori[sz]ed)", r"unauthori[sz]ed", r"\bbanned\b", r"reputation",
    r"\brate\b", r"rate.?limit", r"throttl", r"too many (?:connections|messages|recipients|mails|e-?mails|sessions"
    r"|concurrent|invalid|errors)", r"too (?:fast|frequent|often)", r"frequency",
    r"authenticat", r"\b(?:spf|dkim|dmarc)\b", r"sender.?id", r"not verified",
    r"\bsender(?:'s)? (?:address|domain|ip|host|mx|verif\w*|rejected|denied|refused|blocked|not|is|unknown)",
    r"domain of sender", r"\b(?:rejected|refused|blocked|denied|invalid|unknown|bad) sender", r"envelope.?from",
    r"\bfrom (?:address|domain)",
    r"reverse (?:dns|lookup|name)", r"\bptr\b", r"\brdns\b", r"client (?:host|ip|address)", r"mismatch",
    r"\bhelo\b", r"\behlo\b", r"your (?:ip|host|server|domain|network|mail server)",
    r"host network", r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited|refused)",
    r"(?:not configured|unable|not permitted|not allowed) to relay", r"\brelay access\b", r"open relay",
    r"virus", r"malware", r"infected", r"content (?:rejected|refused|filter|polic|violat|not (?:accepted|allowed))",
    r"(?:rejected|refused|blocked) (?:due to|for|because of) (?:its |the )?content", r"attachment",
    r"too (?:big|large)", r"message (?:size|length) (?:exceed\w*|too)", r"size limit", r"duplicate (?:header|message)",
    r"\bheader (?:field|line|check|is|not|missing|invalid)", r"\bloop\b", r"hop count", r"protocol (?:violation|error)",
    r"(?<!address )\bsyntax\b", r"\bfilter(?:ed|ing)?\b", r"security (?:reasons|restriction|check)",
    r"\b(?:star)?tls\b", r"encrypt", r"recipient(?:'s)? preferences", r"only accepting mail from",
    r"refuses? to (?:receive|accept)", r"user reject", r"not accepting (?:mail|messages|e-?mail) from",
)
FULL_WORDS = _words(
    r"quota", r"\b(?:mail ?box|inbox|storage|disk|account|mail ?folder)\b[^.;:]{0,20}\bfull\b", r"full mail ?box",
    r"insufficient (?:storage|space|disk)", r"mail ?box (?:size|storage) (?:limit|exceeded)",
    r"out of (?:storage|space|disk)", r"not enough (?:space|storage)", r"exceeded (?:the )?(?:storage|mailbox)",
)
GONE_WORDS = _words(
    rf"\bunknown {_THING}", rf"\b{_THING}(?: name)? (?:is )?unknown",
    r"\bnot a (?:known|valid) (?:user|mailbox|address)",
    r"recipient name is not recognized", rf"\bno such {_THING}", r"\bno mail ?box\b",
    rf"\b{_THING}\b[^.;,]{{0,40}}\b(?:does ?n[o']t|did ?n[o']t|not) exist",
    r"\bnon.?existent (?:user|address|mailbox)",
    rf"\b{_THING} (?:was |is )?not found", rf"\b{_THING} (?:is )?(?:invalid|not valid)",
    r"\binvalid (?:[\w-]+ ){0,2}(?:recipient|address|mailbox|user ?id|user)\b",
    r"\bbad.?(?:recipient|destination mailbox)", r"\bno valid recipients?\b",
    r"\baccount (?:has been |is |was )?(?:\w+ or )?(?:closed|deleted|removed|terminated|discontinued|cancell?ed)",
    r"(?:mail ?box|address|user) (?:has been |is |was )?(?:closed|deleted|removed|discontinued)",
    r"\bdeactivated\b", r"no longer (?:valid|active|in use|available|exists|on (?:this |the )?(?:server|system))",
    r"not an active (?:address|user|mailbox)", r"\bnot our customer\b", r"\bhas moved\b",
    r"\bmoved (?:permanently|to)\b",
    r"addressee unknown", r"\b(?:user|recipient|address) does(?:n't| not) have an? (?:[\w.-]+ )?account",
    r"not listed in (?:the )?(?:[\w&.]+ ){0,4}(?:directory|address book)",
)
DISABLED_WORDS = _words(r"disabled", r"suspend", r"inactiv", r"\blocked\b", r"frozen", r"temporarily unavailable")
HOST_WORDS = _words(
    r"\b(?:host|domain)(?: name)?(?: or domain name)? (?:is )?"
    r"(?:not found|unknown|does ?n[o']t exist|could not be found)",
    r"\bunknown (?:host|domain)", r"\bno such (?:domain|host)", r"\binvalid (?:domain|host)",
    r"(?:couldn't|could not|can't|cannot|unable to) find (?:a |any )?(?:mail exchanger|mx|host|domain)",
    r"\bnxdomain\b", r"unrouteable (?:mail )?(?:address|domain)", r"(?:illegal|bad) (?:host|domain)",
    r"\bno mx\b", r"no (?:smtp|mail) service", r"does not accept (?:any )?mail", r"accepts no mail", r"null mx",
)
# The receiver refused the recipient, and says no more: unproven, as a bare 550 is.
RECIPIENT_REFUSED_WORDS = _words(r"\brecipient (?:address )?(?:rejected|refused|denied)", r"rejected recipient")
# The refusal came when we named our sender: whatever it says, it is about us.
SENDER_STAGE = _words(r"(?:after|in reply to) (?:the )?mail from")
TEMPORARY_WORDS = _words(r"try again", r"temporar", r"\blater\b")  # an unknown host may come back
# Names are not words: an address ("filtered@...") or a link's path says nothing of the cause.
_NAMES = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+|https?://([\w.-]+)\S*", re.I)
_SMTP_AND_ENHANCED = re.compile(r"(?<![\w.])[245]\d\d[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\w.-])")
_ENHANCED = re.compile(r"(?<![\w.-])#?([245]\.\d{1,3}\.\d{1,3})(?![\w.-])")
_REPLY = re.compile(r"(?<![\w.\-#:/=])([245]\d\d)(?=[\s\-,;)]|$)")


@dataclass(frozen=True)
class Verdict:
    kind: K
    code: str  # the enhanced status code the verdict rests on ("" when none was given)


def enhanced_in(text: str) -> str:
    """The first RFC 3463 code in a text ("550 5.1.1 ...", "#5.1.1", "550-5.7.1"), or ""."""
    m = _SMTP_AND_ENHANCED.search(text or "") or _ENHANCED.search(text or "")
    return m[1] if m else ""


def reply_in(text: str) -> int:
    """The first SMTP reply code in a text (not a piece of an IP address or a number), or 0."""
    m = _REPLY.search(text or "")
    return int(m[1]) if m else 0


def _parse(code: str) -> Enhanced | None:
    m = re.match(r"\s*([245])\.(\d{1,3})\.(\d{1,3})", code or "")
    return Enhanced(int(m[1]), int(m[2]), int(m[3])) if m else None


def _generic(e: Enhanced | None) -> bool:
    return e is None or (e.subject, e.detail) in ((0, 0), (5, 0))


def _by_words(text: str, klass: int) -> K | None:
    text = _NAMES.sub(lambda m: f" {m[1] or 'address'} ", text)
    if POLICY_WORDS.search(text):
        return K.POLICY
    if FULL_WORDS.search(text):
        return K.SOFT
    if GONE_WORDS.search(text):
        return K.UNCERTAIN if klass == 4 else K.HARD
    if DISABLED_WORDS.search(text):
        return K.SOFT
    if HOST_WORDS.search(text):
        return K.UNCERTAIN if klass == 4 or TEMPORARY_WORDS.search(text) else K.HARD
    return None


def _reply_first(diagnostic: str) -> list[str]:
    """The receiver's reply (from its reply code on), then what the reporting relay wrote
    before it ("5.1.0 - Unknown address error", "host mx.example.org said:")."""
    m = _REPLY.search(diagnostic or "")
    if m is None or m.start() == 0:
        return [diagnostic]
    return [diagnostic[m.start():], diagnostic[:m.start()]]


def _refined(kind: K, text: str) -> K:
    """A code that says soft, on a text that says the recipient was refused: unproven."""
    return K.UNCERTAIN if kind == K.SOFT and RECIPIENT_REFUSED_WORDS.search(text) else kind


def by_code(e: Enhanced) -> K:
    """What a specific enhanced code says by itself (rule 6 above)."""
    if e.klass == 4:
        return K.SOFT
    if e.subject == 1:
        if e.detail in (1, 6, 10):
            return K.HARD
        return K.POLICY if e.detail in (7, 8) else K.UNCERTAIN
    if e.subject in (5, 6, 7) or (e.subject, e.detail) == (3, 4):
        return K.POLICY
    return K.SOFT  # 5.2.x mailbox (full, disabled), 5.3.x system, 5.4.x routing


def read(action: str, status: str, texts: list[str]) -> Verdict:
    """The verdict on one recipient: the DSN Action and Status (or what stands for them),
    and the texts that speak of it, closest first (rules in the module docstring)."""
    action = (action or "").strip().lower()
    if action.startswith("delayed"):
        return Verdict(K.DELAYED, status)
    given = _parse(status)
    if action.startswith(("delivered", "deliverable", "relayed", "expanded")) or (given and given.klass == 2):
        return Verdict(K.OTHER, status)  # delivered (or would be): no failure, whatever the text says
    klass = given.klass if given else 0
    if texts and texts[0] and SENDER_STAGE.search(texts[0]):
        return Verdict(K.POLICY, _code(given))
    texts = [*_reply_first(texts[0]), *texts[1:]] if texts else []
    for n, text in enumerate(texts):
        if not text:
            if n == 0 and not _generic(given):
                return Verdict(by_code(given), _code(given))
            continue
        own = _parse(enhanced_in(text))
        code_class = own.klass if own else (reply_in(text) // 100 or klass)
        if (kind := _by_words(text, code_class)) is not None:
            return Verdict(kind, _code(own or given))
        if own is not None and not _generic(own):
            return Verdict(_refined(by_code(own), text), _code(own))
        if n == 0 and not _generic(given):
            return Verdict(_refined(by_code(given), text), _code(given))
    if not _generic(given):
        return Verdict(by_code(given), _code(given))
    reply = next((r for r in map(reply_in, texts) if r), 0)
    if reply in (550, 551, 553) or (reply // 100 != 4 and any(RECIPIENT_REFUSED_WORDS.search(t) for t in texts)):
        return Verdict(K.UNCERTAIN, _code(given))
    if reply == 554 or 500 <= reply <= 504:
        return Verdict(K.POLICY, _code(given))
    klass = reply // 100 or klass
    return Verdict({5: K.UNCERTAIN, 4: K.SOFT}.get(klass, K.SOFT), _code(given))


def _code(e: Enhanced | None) -> str:
    return f"{e.klass}.{e.subject}.{e.detail}" if e else ""


def comment_of(status: str) -> str:
    """The words after a Status field's code: "5.4.4 (Illegal host/domain name found)"."""
    return re.sub(r"^\s*[245]\.\d{1,3}\.\d{1,3}\s*", "", status or "").strip(" ()")


def says_why(text: str) -> bool:
    """Whether a text gives a failure's cause: a status or reply code, or words the rule reads."""
    return bool(enhanced_in(text) or reply_in(text) // 100 in (4, 5) or any(
        w.search(text) for w in (POLICY_WORDS, FULL_WORDS, GONE_WORDS, DISABLED_WORDS, HOST_WORDS)))
