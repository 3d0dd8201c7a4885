"""Authentication: API tokens as `Authorization: Bearer <key>` (what the OpenAI client sends) or
`Token <key>` (DRF's habit), and `?token=<key>` for WebSocket clients that cannot set headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.request import Request


def token_from_authorization(header: bytes | str) -> str | None:
    """The API key in an `Authorization` header value, `Bearer <key>` or `Token <key>`; None
    for anything else (another scheme, a malformed value). The one token parser: DRF, the
    WebSocket middleware and the OpenAI-compatible endpoint all read keys through it."""
    if isinstance(header, bytes):
        try:
            header = header.decode()
        except UnicodeError:
            return None
    parts = header.split()
    if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
        return parts[1]
    return None


def user_for_token(key: str) -> AbstractBaseUser | None:
    """The active user a key belongs to, or None. Synchronous: callers in async code wrap it."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class BearerOrTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request)
        key = token_from_authorization(header)
        if key is not None:
            return self.authenticate_credentials(key)
        scheme = header.split()[0].lower() if header.split() else b""
        if scheme in (b"bearer", b"token"):
            # Our scheme, but not one key after it: say so, rather than answer as if no
            # credentials were sent.
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: send `Authorization: Bearer <token>`, the key "
                "from /accounts/token/, with no spaces in it."
            )
        return None  # another scheme (Basic …), or none: other authenticators may take it

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class BearerOrTokenScheme(OpenApiAuthenticationExtension):
    """Shows the token in the OpenAPI schema as HTTP bearer, the way clients send it."""

    target_class = BearerOrTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the Token page (`/accounts/token/`); "
            "`Authorization: Token <key>` works too.",
        }


@database_sync_to_async
def _socket_user(key: str) -> AbstractBaseUser | AnonymousUser:
    return user_for_token(key) or AnonymousUser()


class TokenQueryAuthMiddleware:
    """Sets scope["user"] from `?token=` or an `Authorization` header when the session gave none."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
            if not key:
                for name, value in scope.get("headers", []):
                    if name == b"authorization":
                        key = token_from_authorization(value) or ""
            if key:
                scope = dict(scope, user=await _socket_user(key))
        return await self.app(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin, and it must be one of ALLOWED_HOSTS (no cross-site socket can
    ride a session cookie). Programs send none and must authenticate with a token instead."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)
