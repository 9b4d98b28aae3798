"""Chat history at hand: what Hume recorded of a chat (messages, tool calls, prosody scores) joined with our own
call records (how long each tool call took), for `evi-toolhost chats` and `chat-groups`.

- `fetch`: the chats, a chat's events and a group's, from Hume's REST API;
- `call_records`: our `evi:call:{id}` records in Redis, or why there are none;
- `transcript`: events and records made into one transcript: messages with their strongest emotions, tool
  calls with their answer and latency;
- `render`: a transcript as text, Markdown or JSON lines, and the chat list as a table.
"""
