"""The API's docs page (/api/v1/docs): every route, its parameters and body, and a curl line,
rendered from the OpenAPI description as one self-contained HTML page.

Swagger UI and ReDoc load their scripts from a CDN, which an offline server cannot reach; this
page needs nothing but itself. Every value from the description is escaped.
"""

from __future__ import annotations

import json
from html import escape

CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}code,pre{background:#f5f5f5;padding:.1rem .3rem;border-radius:4px}
pre{padding:.6rem;overflow-x:auto}.m{font-weight:700;margin-right:.5rem}td{padding:.2rem .6rem;vertical-align:top}"""


def _schema_fields(schema: dict, defs: dict) -> list[tuple[str, str, str]]:
    """(name, type, description) of an object schema's properties (one level of $ref)."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        kinds = [p.get("type", "") for p in prop.get("anyOf", [prop])]
        out.append((name, " | ".join(k for k in kinds if k) or "any", prop.get("description", "")))
    return out


def _curl(method: str, path: str, op: dict) -> str:
    url = f"http://127.0.0.1:7860/api/v1{path}"
    body = (op.get("requestBody") or {}).get("content", {})
    if "multipart/form-data" in body:
        return f"curl -F files=@story.txt {url}"
    if "application/json" in body:
        example = {"q": "What did Russia propose on decarbonization?", "k": 3} if path == "/ask" else \
            {"urls": ["https://example.com/news/story"]}
        return f"curl -H 'Content-Type: application/json' -d '{json.dumps(example)}' {url}"
    if method == "get" and path == "/ask":
        return f"curl '{url}?q=What+did+Russia+propose+on+decarbonization%3F&k=3'"
    return f"curl {'-X DELETE ' if method == 'delete' else ''}{url}"


def docs_html(spec: dict, read_only: bool = False) -> str:
    """The docs page for an OpenAPI `spec` (FastAPI's `app.openapi()`)."""
    defs = spec.get("components", {}).get("schemas", {})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(spec['info']['title'])} API"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(spec['info']['title'])} API v1 <small>({escape(spec['info']['version'])})</small></h1>",
             f"<p>{escape(spec['info'].get('description', ''))}</p>",
             "<p>Routes are under <code>/api/v1</code>; the machine-readable description is "
             "<a href='openapi.json'><code>/api/v1/openapi.json</code></a>. With <code>--auth</code> send "
             "HTTP basic auth (<code>curl -u user:pass</code>), with <code>--token-file</code> "
             "<code>Authorization: Bearer TOKEN</code>."
             + (" This server is read-only: no uploads or deletes." if read_only else "") + "</p>"]
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            parts.append(f"<h2><span class='m'>{escape(method.upper())}</span><code>{escape(path)}</code></h2>")
            parts.append(f"<p>{escape(op.get('summary', ''))}</p>")
            rows = [(p["name"], p.get("schema", {}).get("type", "")
                     or " | ".join(s.get("type", "") for s in p.get("schema", {}).get("anyOf", [])),
                     p.get("in", "") + (", required" if p.get("required") else ""))
                    for p in op.get("parameters", [])]
            body = (op.get("requestBody") or {}).get("content", {})
            for ctype, media in body.items():
                rows += [(n, t, f"{ctype} body; {d}") for n, t, d in _schema_fields(media.get("schema", {}), defs)]
            if rows:
                parts.append("<table>" + "".join(f"<tr><td><code>{escape(n)}</code></td><td>{escape(t)}</td>"
                                                 f"<td>{escape(d)}</td></tr>" for n, t, d in rows) + "</table>")
            parts.append(f"<pre>{escape(_curl(method, path, op))}</pre>")
    parts.append("</body></html>")
    return "".join(parts)
