"""Block Kit limits, as Slack's Block Kit reference states and its API enforces them."""

from __future__ import annotations

import json

MAX_BLOCKS = {"message": 50, "home": 100, "modal": 100}
SECTION_TEXT = 3000
TEXT_OBJECT = 3000  # any text object, e.g. a context element's
FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
PRIVATE_METADATA = 3000  # a view's: what App Home keeps of the preview it shows
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
# Reported in practice (bolt-js #2509): messages whose blocks total ~13k characters fail
# with msg_blocks_too_long even when each block is within its own limit.
TOTAL_BLOCK_CHARS = 12_000


def _text(obj: dict | None) -> str:
    return (obj or {}).get("text", "") if isinstance(obj, dict) else ""


def _button(element: dict, where: str, seen: set[str]) -> list[str]:
    errors = []
    if len(_text(element.get("text"))) > BUTTON_TEXT:
        errors.append(f"{where}: button text over {BUTTON_TEXT}")
    if len(str(element.get("value", ""))) > BUTTON_VALUE:
        errors.append(f"{where}: button value over {BUTTON_VALUE}")
    action_id = str(element.get("action_id", ""))
    if len(action_id) > ACTION_ID:
        errors.append(f"{where}: action_id over {ACTION_ID}")
    if action_id and action_id in seen:
        errors.append(f"{where}: duplicate action_id {action_id}")
    seen.add(action_id)
    return errors


def validate_blocks(blocks: list, surface: str = "message") -> list[str]:
    """Every limit a list of blocks breaks, as readable strings (empty when valid)."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        errors.append(f"{len(blocks)} blocks, over {MAX_BLOCKS[surface]}")
    seen: set[str] = set()
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"block {index}"
        kind = block.get("type") if isinstance(block, dict) else None
        # Slack refuses a message or view in which two blocks share a block_id.
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if len(str(block_id)) > BLOCK_ID:
                errors.append(f"{where}: block_id over {BLOCK_ID}")
            if block_id in block_ids:
                errors.append(f"{where}: duplicate block_id {block_id}")
            block_ids.add(block_id)
        if kind == "section":
            if len(_text(block.get("text"))) > SECTION_TEXT:
                errors.append(f"{where}: section text over {SECTION_TEXT}")
            fields = block.get("fields") or []
            if len(fields) > FIELDS:
                errors.append(f"{where}: over {FIELDS} fields")
            errors += [
                f"{where}: field over {FIELD_TEXT}" for f in fields if len(_text(f)) > FIELD_TEXT
            ]
            if not block.get("text") and not fields:
                errors.append(f"{where}: section needs text or fields")
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                errors += _button(accessory, where, seen)
        elif kind == "header":
            if len(_text(block.get("text"))) > HEADER_TEXT:
                errors.append(f"{where}: header over {HEADER_TEXT}")
        elif kind == "context":
            elements = block.get("elements") or []
            if len(elements) > CONTEXT_ELEMENTS:
                errors.append(f"{where}: context over {CONTEXT_ELEMENTS} elements")
            if any(isinstance(e, dict) and len(_text(e)) > TEXT_OBJECT for e in elements):
                errors.append(f"{where}: context text over {TEXT_OBJECT}")
        elif kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > ACTIONS_ELEMENTS:
                errors.append(f"{where}: actions over {ACTIONS_ELEMENTS} elements")
            for element in elements:
                if element.get("type") == "button":
                    errors += _button(element, where, seen)
        elif kind not in ("divider", "image", "rich_text", "input", "file", "video"):
            errors.append(f"{where}: unknown block type {kind!r}")
    if surface == "message" and len(json.dumps(blocks)) > TOTAL_BLOCK_CHARS + 8000:
        errors.append("blocks total too long")
    elif surface == "message":
        total = sum(len(_text(b.get("text"))) for b in blocks if isinstance(b, dict))
        if total > TOTAL_BLOCK_CHARS:
            errors.append(f"blocks total {total} characters of text, over {TOTAL_BLOCK_CHARS}")
    return errors
