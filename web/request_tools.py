"""Small helpers handlers share: the caller, a database session, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor, NotSignedIn
from interviews.directory import field_errors
from web.errors import ApiError, invalid
from web.keys import ACTOR, SESSIONMAKER

M = TypeVar("M", bound=BaseModel)


def actor(request: web.Request) -> Actor | None:
    """The signed-in caller, if any."""
    return request.get(ACTOR)


def signed_in(request: web.Request) -> Actor:
    """The signed-in caller, or NotSignedIn (401 or a sign-in redirect)."""
    found = actor(request)
    if found is None:
        raise NotSignedIn(request.path)
    return found


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on any error."""
    async with request.app[SESSIONMAKER]() as session, session.begin():
        yield session


async def json_body(request: web.Request) -> Any:
    """The request's JSON, or 400/415 with a clear reason."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send JSON (Content-Type: application/json).")
    raw = await request.read()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}") from None


def parse(model: type[M], data: Any) -> M:
    """Validate data against a pydantic model, or 400 naming each failing field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None


def remote(request: web.Request) -> str:
    """The caller's address, for the audit log."""
    return request.remote or ""
