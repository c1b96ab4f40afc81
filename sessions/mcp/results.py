"""An MCP ``CallToolResult`` as the text a tool result carries.

Text content is kept; images, audio and binary resources are summarised (type, size) since
the model cannot read base64 and it would flood the context; embedded text resources are kept
with their URI. The whole is capped at ``MAX_RESULT_CHARS`` with a note saying how much was cut.
Secrets of the server's config are scrubbed like any tool output.
"""

from __future__ import annotations

import base64
import json
from typing import Any

MAX_RESULT_CHARS = 100_000


def result_text(
    result: Any, secrets: list[str], limit: int = MAX_RESULT_CHARS
) -> tuple[str, dict[str, Any]]:
    """(text for the model, metadata: summarised content kinds, original size, truncation)."""
    from opencode.sessions.secrets import scrub

    pieces: list[str] = []
    summarised: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "?")
        if kind == "text":
            pieces.append(str(block.text))
        elif kind in ("image", "audio"):
            size = _b64_size(getattr(block, "data", ""))
            mime = getattr(block, "mime_type", None) or "unknown type"
            pieces.append(f"[{kind} content: {mime}, {size} bytes, not shown]")
            summarised.append(kind)
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            if isinstance(text, str):
                pieces.append(f"[resource {resource.uri}]\n{text}")
            else:
                mime = getattr(resource, "mime_type", None) or "binary"
                size = _b64_size(getattr(resource, "blob", ""))
                pieces.append(f"[resource {resource.uri}: {mime}, {size} bytes, not shown]")
                summarised.append("resource")
        elif kind == "resource_link":
            name = getattr(block, "name", "") or ""
            pieces.append(f"[resource link {getattr(block, 'uri', '')} {name}]".rstrip())
        else:
            pieces.append(f"[{kind} content, not shown]")
            summarised.append(str(kind))
    structured = getattr(result, "structured_content", None)
    if not pieces and structured is not None:
        pieces.append(json.dumps(structured, ensure_ascii=False, indent=2))
    text = "\n".join(pieces) if pieces else "(no content)"
    metadata: dict[str, Any] = {}
    if summarised:
        metadata["summarised"] = summarised
    if len(text) > limit:
        metadata["original_chars"] = len(text)
        cut = len(text) - limit
        text = (
            text[:limit]
            + f"\n[... {cut} more characters cut: the result was {len(text)} characters, over "
            f"the {limit // 1000} KB limit for MCP results]"
        )
        metadata["truncated"] = True
    return scrub(text, secrets), metadata


def _b64_size(data: Any) -> int:
    if isinstance(data, bytes):
        return len(data)
    if not isinstance(data, str):
        return 0
    try:
        return len(base64.b64decode(data, validate=False))
    except (ValueError, TypeError):
        return len(data) * 3 // 4
