"""Signed session cookies, CSRF tokens and the headers every response carries."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

COOKIE = "pulse_session"
CSRF_FIELD = "csrf"

# No scripts at all; styles and images from the dashboard itself; forms post only to it.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A sign-in link's token is in its path: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Signer:
    """Signs session tokens for the cookie and derives each session's CSRF token."""

    def __init__(self, hash_key: bytes) -> None:
        # Derived from the database's hash key, so every Pulse process on one store agrees.
        self._key = hmac.new(hash_key, b"pulse-web-sessions", hashlib.sha256).digest()

    def _mac(self, purpose: str, token: str) -> str:
        message = f"{purpose}:{token}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def cookie_value(self, session: str) -> str:
        """The cookie that carries SESSION."""
        return f"{session}.{self._mac('cookie', session)}"

    def session_of(self, cookie: str | None) -> str | None:
        """The session token in a cookie whose signature holds, else None."""
        if not cookie or "." not in cookie:
            return None
        session, mac = cookie.rsplit(".", 1)
        return session if hmac.compare_digest(mac, self._mac("cookie", session)) else None

    def csrf(self, session: str) -> str:
        """The CSRF token a session's forms carry."""
        return self._mac("csrf", session)

    def csrf_ok(self, session: str, given: object) -> bool:
        """Whether GIVEN is SESSION's CSRF token."""
        return isinstance(given, str) and hmac.compare_digest(given, self.csrf(session))


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer (pages, errors, static files, streams) gets the strict headers."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
