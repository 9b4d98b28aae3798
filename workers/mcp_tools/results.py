"""An MCP tool's result as the one text EVI takes (`tool_response.content`, or `tool_error.content`).

Text blocks are kept as they are; every other block is described in a line of text, since EVI's LLM reads text
only (an image becomes `[image: image/png, 2.1 kB]`). A text resource contributes its text. A result with
no content but structured content is that content as JSON text.
"""

from __future__ import annotations

import base64
import binascii
import json

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
)

NO_CONTENT = "(the tool returned no content)"


def result_text(result: CallToolResult) -> str:
    parts = [block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(parts) if parts else NO_CONTENT


def block_text(block: ContentBlock) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent | AudioContent):
        return f"[{block.type}: {block.mime_type}, {_size(block.data)}]"
    if isinstance(block, ResourceLink):
        described = f": {block.description}" if block.description else ""
        return f"[resource link {block.name} ({block.uri}){described}]"
    if isinstance(block, EmbeddedResource):
        resource = block.resource
        if isinstance(resource, BlobResourceContents):
            return f"[resource {resource.uri}: {resource.mime_type or 'binary'}, {_size(resource.blob)}]"
        return f"[resource {resource.uri}]\n{resource.text}"
    return f"[{getattr(block, 'type', 'unknown')} content]"


def _size(data: str) -> str:
    """The decoded size of base64 data, in words a person reads."""
    try:
        count = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        count = len(data)
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"
