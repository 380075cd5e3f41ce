"""Raw request bodies read with a cap: refused on Content-Length before anything is buffered, and
counted while streaming (a client may lie about, or omit, its length). Every raw-body route uses this,
so a 400 MB upload costs the server at most the cap plus one chunk."""

from __future__ import annotations

from fastapi import Request

from hub.api.errors import ApiError


async def read_capped(request: Request, limit: int, what: str = "message") -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"{what} of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"{what} exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
