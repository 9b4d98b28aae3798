import workers


def test_exported_names_are_pinned() -> None:
    assert sorted(workers.__all__) == [
        "ChatContext",
        "ToolContext",
        "ToolError",
        "TranscriptLine",
        "on_chat_ended",
        "on_chat_started",
        "tool",
    ]
    for name in workers.__all__:
        assert getattr(workers, name) is not None
