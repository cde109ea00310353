"""The OpenAPI document and an offline reference page for it.

FastAPI's own pages load Swagger UI from a CDN, which this service's Content-Security-
Policy forbids (and which a machine without Internet cannot reach). Instead this page is
rendered here from the OpenAPI document: every operation with its parameters and body,
and a small inline script (allowed by its hash in this route's own CSP, and nothing
else) that sends a request with your token and shows the answer.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter(include_in_schema=False)
DESCRIPTION = ("The newsletter service's REST API. Authenticate with `Authorization: Bearer <token>` "
               "(`newsletter tokens create`). Errors are RFC 9457 problem documents.")

_SCRIPT = """
document.querySelectorAll('form.try').forEach(function (form) {
  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    var out = form.querySelector('output');
    var path = form.dataset.path, query = new URLSearchParams(), headers = {};
    form.querySelectorAll('input[data-in]').forEach(function (input) {
      if (!input.value) return;
      if (input.dataset.in === 'path') path = path.replace('{' + input.name + '}', encodeURIComponent(input.value));
      else query.append(input.name, input.value);
    });
    var token = document.getElementById('token').value.trim();
    if (token) headers['Authorization'] = 'Bearer ' + token;
    var body = form.querySelector('textarea');
    var init = {method: form.dataset.method, headers: headers, credentials: 'omit'};
    if (body && body.value) { init.body = body.value; headers['Content-Type'] = body.dataset.type; }
    var url = path + (query.toString() ? '?' + query : '');
    out.textContent = form.dataset.method + ' ' + url + ' ...';
    try {
      var answer = await fetch(url, init), text = await answer.text();
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
      out.textContent = answer.status + ' ' + answer.statusText + '\\n' + text.slice(0, 20000);
    } catch (e) { out.textContent = String(e); }
  });
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
CSP = (f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; "
       "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
_STYLE = ("body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;color:#1a1a1a}"
          "details{border:1px solid #ccc;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}"
          "summary{cursor:pointer}code,pre,output{font:13px ui-monospace,monospace}"
          "pre,output{display:block;white-space:pre-wrap;background:#f4f4f4;padding:.5rem;overflow:auto}"
          ".m{display:inline-block;min-width:4.5rem;font-weight:bold}input,textarea{font:inherit;max-width:100%}"
          "textarea{width:100%;min-height:5rem}label{display:block;margin:.2rem 0}")


def document(app_routes) -> dict:
    return get_openapi(title="newsletter API", version="1", description=DESCRIPTION, routes=app_routes)


def _operation(path: str, method: str, op: dict) -> str:
    e = html.escape
    params = op.get("parameters", [])
    rows = "".join(
        f"<label><code>{e(p['name'])}</code> ({e(p['in'])}{', required' if p.get('required') else ''}) "
        f"<input name='{e(p['name'])}' data-in='{e(p['in'])}' size='30'></label>" for p in params)
    body = ""
    content = op.get("requestBody", {}).get("content", {})
    if content:
        kind = next(iter(content))
        schema = content[kind].get("schema", {})
        body = (f"<p>Body ({e(kind)}):</p><pre>{e(json.dumps(schema, indent=1)[:3000])}</pre>"
                f"<textarea name='body' data-type='{e(kind)}'></textarea>")
    doc = op.get("description", "")
    return (f"<details><summary><span class='m'>{e(method.upper())}</span> <code>{e(path)}</code> "
            f"{e(op.get('summary', ''))}</summary>{f'<p>{e(doc)}</p>' if doc else ''}"
            f"<form class='try' data-method='{e(method.upper())}' data-path='{e(path)}'>{rows}{body}"
            f"<button>Send</button><output></output></form></details>")


def page(spec: dict) -> str:
    sections: dict[str, list[str]] = {}
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            sections.setdefault((op.get("tags") or ["other"])[0], []).append(_operation(path, method, op))
    body = "".join(f"<h2>{html.escape(tag)}</h2>{''.join(ops)}" for tag, ops in sections.items())
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'><title>newsletter API</title>"
            f"<style>{_STYLE}</style></head><body><h1>newsletter API</h1><p>{html.escape(DESCRIPTION)} "
            "The machine-readable document: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>.</p>"
            "<label>API token <input id='token' type='password' size='60' autocomplete='off'></label>"
            f"{body}<script>{_SCRIPT}</script></body></html>")


@router.get("/openapi.json")
def openapi(request: Request):
    return JSONResponse(request.app.state.api_openapi)


@router.get("/docs")
def docs(request: Request):
    return HTMLResponse(page(request.app.state.api_openapi), headers={"Content-Security-Policy": CSP})
