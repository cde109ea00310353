"""Telling scanners from readers: each rule, and the order they are tried in."""
import pytest

from newsletter.tracking.scanners import ClickKind, classify

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari"
NOW = 1_800_000_000.0


def kind(method="GET", headers=None, sent_at=NOW - 3600, early=60):
    headers = {"user-agent": BROWSER} if headers is None else headers
    return classify(method, headers, sent_at, NOW, early)


def test_a_browser_an_hour_after_the_send_is_a_reader():
    assert kind() == ClickKind.READER
    assert kind(sent_at=None) == ClickKind.READER  # a link without its message part: no timing


@pytest.mark.parametrize("headers", [{"purpose": "prefetch"}, {"sec-purpose": "prefetch;prerender"},
                                     {"x-purpose": "preview"}, {"x-moz": "prefetch"}])
def test_prefetches_say_so(headers):
    assert kind(headers={"user-agent": BROWSER, **headers}) == ClickKind.PREFETCH


@pytest.mark.parametrize("agent", [
    "", "Mozilla/5.0 (compatible; Mimecast URL Protect)", "Barracuda Sentinel", "python-requests/2.32",
    "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "Slackbot-LinkExpanding 1.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36",
    "Microsoft Office Existence Discovery", "facebookexternalhit/1.1", "Go-http-client/2.0"])
def test_scanner_agents(agent):
    assert kind(headers={"user-agent": agent}) == ClickKind.AGENT


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Chrome/120",
                                   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"])
def test_people_whose_agent_looks_a_little_like_one_are_readers(agent):
    assert kind(headers={"user-agent": agent}) == ClickKind.READER


def test_early_is_measured_from_the_send():
    assert kind(sent_at=NOW - 5) == ClickKind.EARLY
    assert kind(sent_at=NOW - 59.9) == ClickKind.EARLY
    assert kind(sent_at=NOW - 60) == ClickKind.READER
    assert kind(sent_at=NOW - 5, early=0) == ClickKind.READER  # the rule can be turned off
    assert kind(sent_at=NOW + 30) == ClickKind.READER  # a clock ahead of ours: no guess


def test_the_first_rule_that_matches_names_it():
    assert kind("HEAD", {"user-agent": "", "sec-purpose": "prefetch"}, NOW - 1) == ClickKind.HEAD
    assert kind("GET", {"user-agent": "", "sec-purpose": "prefetch"}, NOW - 1) == ClickKind.PREFETCH
    assert kind("GET", {"user-agent": "curl/8"}, NOW - 1) == ClickKind.AGENT
