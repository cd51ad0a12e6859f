"""The dashboard's addresses that leave the server: sign-in links in chat and in the terminal."""

from __future__ import annotations


def sign_in_url(base_url: str, token: str) -> str:
    """The address of the sign-in page for link TOKEN."""
    return f"{base_url.rstrip('/')}/signin/{token}"
