"""An MCP result as the one text EVI takes: text as it is, every other block described in a line."""

from __future__ import annotations

import base64

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from workers.mcp_tools.results import NO_CONTENT, result_text

PNG = base64.b64encode(b"\x89PNG" + b"\0" * 2096).decode()


def test_text_blocks_are_joined_by_lines() -> None:
    result = CallToolResult(content=[TextContent(text="Sunny."), TextContent(text="21 °C.")])
    assert result_text(result) == "Sunny.\n21 °C."


def test_other_blocks_are_described() -> None:
    result = CallToolResult(
        content=[
            TextContent(text="Here is the radar:"),
            ImageContent(data=PNG, mime_type="image/png"),
            AudioContent(data=base64.b64encode(b"RIFF").decode(), mime_type="audio/wav"),
            ResourceLink(name="radar.png", uri="https://radar.example.test/paris.png", description="Paris radar"),
            EmbeddedResource(resource=TextResourceContents(uri="file:///forecast.txt", text="Rain at noon.")),
            EmbeddedResource(resource=BlobResourceContents(uri="file:///map.bin", blob=PNG)),
        ]
    )
    assert result_text(result).splitlines() == [
        "Here is the radar:",
        "[image: image/png, 2.1 kB]",
        "[audio: audio/wav, 4 bytes]",
        "[resource link radar.png (https://radar.example.test/paris.png): Paris radar]",
        "[resource file:///forecast.txt]",
        "Rain at noon.",
        "[resource file:///map.bin: binary, 2.1 kB]",
    ]


def test_structured_content_stands_in_for_missing_content() -> None:
    assert result_text(CallToolResult(content=[], structured_content={"high": 21})) == '{"high":21}'
    assert result_text(CallToolResult(content=[])) == NO_CONTENT
