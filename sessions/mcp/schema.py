"""An MCP tool's input schema made safe to send to a provider.

Providers reject a whole request over one malformed tool schema, so one bad MCP server would
break every turn. ``clean_schema`` keeps what is well formed and drops the rest, saying what it
dropped: a top level that is not an object schema, unknown ``type`` names, properties that are
not schemas, non-numeric bounds, ``required`` names with no property, unresolvable ``$ref``s.
"""

from __future__ import annotations

from typing import Any

_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}
_NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength")


def clean_schema(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """(a provider-safe object schema, what was repaired)."""
    fixes: list[str] = []
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}, ["the schema is not a JSON object"]
    defs = {**_table(schema.get("$defs")), **_table(schema.get("definitions"))}
    cleaned = _clean(schema, "", fixes, schema)
    if cleaned.get("type") != "object":
        fixes.append(f"top-level type {cleaned.get('type')!r} is not 'object'")
        cleaned["type"] = "object"
    cleaned.setdefault("properties", {})
    if defs and "$defs" not in cleaned and "definitions" not in cleaned:
        cleaned["$defs"] = defs
    return cleaned, fixes


def _clean(
    node: dict[str, Any], where: str, fixes: list[str], root: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        at = f"{where}.{key}" if where else key
        if key == "type":
            names = value if isinstance(value, list) else [value]
            if not names or not all(isinstance(n, str) and n in _TYPES for n in names):
                fixes.append(f"{at}: unknown type {value!r} dropped")
                continue
            out[key] = value
        elif key in _NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float):
                fixes.append(f"{at}: non-numeric {value!r} dropped")
                continue
            out[key] = value
        elif key == "properties":
            if not isinstance(value, dict):
                fixes.append(f"{at}: not an object, dropped")
                continue
            props: dict[str, Any] = {}
            for name, prop in value.items():
                if not isinstance(prop, dict):
                    fixes.append(f"{at}.{name}: not a schema ({prop!r}), dropped")
                    continue
                props[str(name)] = _clean(prop, f"{at}.{name}", fixes, root)
            out[key] = props
        elif key == "items":
            if isinstance(value, dict):
                out[key] = _clean(value, at, fixes, root)
            else:
                fixes.append(f"{at}: not a schema, dropped")
        elif key in ("anyOf", "oneOf", "allOf"):
            if isinstance(value, list) and all(isinstance(v, dict) for v in value) and value:
                out[key] = [_clean(v, f"{at}[{i}]", fixes, root) for i, v in enumerate(value)]
            else:
                fixes.append(f"{at}: not a list of schemas, dropped")
        elif key == "$ref":
            if isinstance(value, str) and _resolves(value, root):
                out[key] = value
            else:
                fixes.append(f"{at}: {value!r} does not resolve, dropped")
        elif key == "required":
            out[key] = value  # checked against properties below
        else:
            out[key] = value
    required = out.get("required")
    if required is not None:
        props_now = out.get("properties")
        if not isinstance(required, list):
            fixes.append(f"{where or 'top'}.required: not a list, dropped")
            del out["required"]
        elif isinstance(props_now, dict) or not where:
            known = props_now if isinstance(props_now, dict) else {}
            kept = [r for r in required if isinstance(r, str) and r in known]
            if len(kept) != len(required):
                dropped = [r for r in required if r not in kept]
                fixes.append(f"{where or 'top'}.required: {dropped!r} name no property, dropped")
            out["required"] = kept
    return out


def _resolves(ref: str, root: dict[str, Any]) -> bool:
    if not ref.startswith("#/"):
        return False
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict)


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
