"""The live session: rooms, WebSocket protocol, server-side media, captions (see issue 5)."""
