"""POST /bounces/{ses,postmark,sendgrid,mailgun}: providers report bounces and complaints.

Each endpoint exists only when its provider is configured (404 otherwise), checks the
request the way that provider signs it (bounces/providers/), and answers with an RFC 9457
problem document when it cannot: 401 for a missing or wrong signature or credentials
(and for a replayed Mailgun request), 403 for an SNS topic that is not ours, 400 for a
body that is not what the provider sends, 503 when SNS's certificate cannot be fetched
(SNS tries again). Nothing is stored unless the request is verified.

A verified request's events are stored and committed before the answer (202 with their
ids; 200 when every one was stored before), then processed after it, as for
/bounces/inbound. Events we do not act on (deliveries, opens, clicks) are acknowledged
and not kept. The work that blocks (the database, fetching a certificate) runs in the
threadpool.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsletter.bounces import intake, webhooks
from newsletter.bounces.providers import mailgun, postmark, sendgrid, ses
from newsletter.bounces.providers.sns import Sns
from newsletter.config import p256_public_key
from newsletter.errors import NewsletterError
from newsletter.http_common import WebContext, ctx

log = logging.getLogger(__name__)
router = APIRouter()
PATHS = {name: f"/bounces/{name}" for name in ("ses", "postmark", "sendgrid", "mailgun")}
_CHALLENGES = {"postmark": 'Basic realm="bounces"'}


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json", headers=headers)


def _not_here() -> JSONResponse:
    return problem(404, "Not here", "There is nothing here.")


async def _handle(request: Request, background: BackgroundTasks, provider: str,
                  work: Callable[[bytes], webhooks.Received | str]) -> JSONResponse:
    """Run `work` on the body (verify, then store); answer what it did or why it refused."""
    w = ctx(request)
    body = await request.body()
    try:
        done = await run_in_threadpool(work, body)
    except NewsletterError as exc:
        status = exc.status if 400 <= exc.status < 600 else 500
        log.info("%s webhook refused: %s %s", provider, status, exc)
        challenge = _CHALLENGES.get(provider) if status == 401 else None
        return problem(status, exc.title, f"{exc}.", {"WWW-Authenticate": challenge} if challenge else None)
    if isinstance(done, str):  # a subscription confirmed, a notice with nothing to keep
        return JSONResponse({"status": done}, status_code=200)
    if done.new:
        background.add_task(intake.process_ids, w.engine, w.settings, list(done.new))
    log.info("%s webhook: %d stored, %d known", provider, len(done.new), done.known)
    return JSONResponse({"stored": done.new, "known": done.known}, status_code=202 if done.new else 200)


def _sns(request: Request, w: WebContext) -> Sns:
    """One per process (its certificate cache), remade if the trusted URLs change."""
    extra = tuple(u.strip() for u in w.settings.sns_extra_urls.split(",") if u.strip())
    sns = getattr(request.app.state, "sns", None)
    if sns is None or sns.extra_urls != extra:
        sns = request.app.state.sns = Sns(extra)
    return sns


@router.post(PATHS["ses"], include_in_schema=False)
async def ses_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    w = ctx(request)
    topics = w.settings.ses_topics
    if not topics:
        return _not_here()
    sns = _sns(request, w)

    def work(body: bytes):
        message = ses.verify(body, sns, topics)
        if message["Type"] == "SubscriptionConfirmation":
            sns.confirm(message)
            log.info("SNS subscription to %s confirmed", message.get("TopicArn"))
            return "subscription confirmed"
        if message["Type"] == "UnsubscribeConfirmation":
            return "noted"
        return webhooks.receive(w.engine, w.settings, "ses", ses.events(message, body))
    return await _handle(request, background, "ses", work)


@router.post(PATHS["postmark"], include_in_schema=False)
async def postmark_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    w = ctx(request)
    s = w.settings
    if not (s.postmark_webhook_username and s.postmark_webhook_password):
        return _not_here()
    authorization = request.headers.get("authorization")

    def work(body: bytes):
        postmark.verify(authorization, s.postmark_webhook_username, s.postmark_webhook_password)
        return webhooks.receive(w.engine, s, "postmark", postmark.events(body))
    return await _handle(request, background, "postmark", work)


@router.post(PATHS["sendgrid"], include_in_schema=False)
async def sendgrid_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    w = ctx(request)
    if not w.settings.sendgrid_webhook_public_key:
        return _not_here()
    signature = request.headers.get(sendgrid.SIGNATURE_HEADER)
    timestamp = request.headers.get(sendgrid.TIMESTAMP_HEADER)

    def work(body: bytes):
        sendgrid.verify(p256_public_key(w.settings.sendgrid_webhook_public_key), signature, timestamp, body)
        return webhooks.receive(w.engine, w.settings, "sendgrid", sendgrid.events(body))
    return await _handle(request, background, "sendgrid", work)


@router.post(PATHS["mailgun"], include_in_schema=False)
async def mailgun_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    w = ctx(request)
    s = w.settings
    if not s.mailgun_webhook_signing_key:
        return _not_here()

    def work(body: bytes):
        signed = mailgun.verify(body, s.mailgun_webhook_signing_key, time.time(), s.webhook_max_age_seconds)
        return webhooks.receive(w.engine, s, "mailgun", mailgun.events(signed, body), token=signed.token)
    return await _handle(request, background, "mailgun", work)
