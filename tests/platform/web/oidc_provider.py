"""`FakeOIDCProvider`: a minimal OpenID Connect provider for tests. A fake, not an IdP.

It speaks just enough of OpenID Connect Core (authorization code flow) for a relying party
such as django-allauth: discovery, `authorize` (which approves its one configured user at
once, no login form), `token` (client authentication, single-use codes, optional PKCE, an
RS256-signed `id_token`), `userinfo` and `jwks`. Serve `provider.app` with
`plugit.testing.LiveServer`. `forge` lets a test replace the next `id_token` with a
tampered one, to check that the relying party refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["FakeOIDCProvider", "Grant", "TestUser"]

KEY_ID = "fake-oidc-key-1"
Forge = Callable[[str, dict[str, Any]], str]


@dataclass(frozen=True, kw_only=True)
class TestUser:
    """The one user the fake provider signs in."""

    __test__ = False  # not a pytest test class

    sub: str
    preferred_username: str
    email: str
    name: str = ""
    email_verified: bool = True

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "preferred_username": self.preferred_username,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }


@dataclass(frozen=True, kw_only=True)
class Grant:
    """What `authorize` handed out with a code, checked again at `token`."""

    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None


@dataclass
class FakeOIDCProvider:
    """A fake OpenID Connect provider (a Starlette app in `app`)."""

    client_id: str
    client_secret: str
    user: TestUser
    # Given the signed id_token and its claims, return the token to send instead (tests).
    forge: Forge | None = None
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    token_calls: int = 0
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @cached_property
    def app(self) -> Starlette:
        """The provider's ASGI application."""
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        issuer = issuer_of(request)
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        """Approve the configured user at once; send the browser back with a code."""
        query = request.query_params
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return oauth_error("invalid_request", "unknown client_id or no redirect_uri")
        if query.get("response_type") != "code":
            return oauth_error("unsupported_response_type", "only `code` is supported")
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            return oauth_error("invalid_request", "only the S256 code challenge is supported")
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            redirect_uri=redirect_uri,
            scope=query.get("scope", ""),
            nonce=query.get("nonce"),
            code_challenge=query.get("code_challenge"),
        )
        answer = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

    async def token(self, request: Request) -> Response:
        """Trade a code for an access token and a signed id_token."""
        self.token_calls += 1
        form = await request.form()
        fields = {name: str(value) for name, value in form.items()}
        if not self._client_authenticated(request, fields):
            return oauth_error("invalid_client", "wrong client id or secret", status=401)
        if fields.get("grant_type") != "authorization_code":
            return oauth_error("unsupported_grant_type", "only authorization_code")
        grant = self.codes.pop(fields.get("code", ""), None)  # a code is used once
        if grant is None or grant.redirect_uri != fields.get("redirect_uri"):
            return oauth_error("invalid_grant", "unknown, used or mismatched code")
        if grant.code_challenge and not pkce_matches(grant, fields.get("code_verifier", "")):
            return oauth_error("invalid_grant", "the PKCE code verifier does not match")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": grant.scope,
                "id_token": self._id_token(issuer_of(request), grant),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.access_tokens:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(self.user.claims())

    async def jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]})

    def _client_authenticated(self, request: Request, fields: dict[str, str]) -> bool:
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":  # client_secret_basic
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        return secrets.compare_digest(
            f"{client_id}\0{secret}", f"{self.client_id}\0{self.client_secret}"
        )

    def _id_token(self, issuer: str, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            **self.user.claims(),
            "iss": issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})
        return self.forge(token, claims) if self.forge is not None else token


def issuer_of(request: Request) -> str:
    """The provider's own base URL, as the relying party reaches it."""
    return str(request.base_url).rstrip("/")


def pkce_matches(grant: Grant, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return bool(grant.code_challenge) and secrets.compare_digest(
        expected, grant.code_challenge or ""
    )


def oauth_error(code: str, description: str, *, status: int = 400) -> Response:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)
