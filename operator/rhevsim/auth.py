"""Authentication like the engine: SSO tokens, HTTP Basic, persistent-auth sessions.

Users come from the inventory (`users:` list of {name, password}); names include the
profile (`admin@internal`). Tokens live `token_ttl` simulated seconds; `/sim/auth/expire-tokens`
drops all tokens and sessions so clients' re-authentication can be tested.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

from rhevsim.clock import Clock


@dataclass
class Token:
    value: str
    user: str
    expires: float


@dataclass
class Auth:
    clock: Clock
    users: dict[str, str] = field(default_factory=lambda: {"admin@internal": "admin"})
    token_ttl: float = 3600.0 * 10
    session_ttl: float = 1800.0
    tokens: dict[str, Token] = field(default_factory=dict)
    sessions: dict[str, Token] = field(default_factory=dict)
    logins: int = 0
    #: Every token and session id ever issued (GET /sim/auth/issued: leak checks in tests).
    issued: list[str] = field(default_factory=list)

    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected, password)

    def issue_token(self, user: str) -> Token:
        tok = Token(secrets.token_urlsafe(32), user, self.clock.now() + self.token_ttl)
        self.tokens[tok.value] = tok
        self.issued.append(tok.value)
        self.logins += 1
        return tok

    def revoke_token(self, value: str) -> None:
        self.tokens.pop(value, None)

    def bearer_user(self, value: str) -> str | None:
        tok = self.tokens.get(value)
        if tok is None:
            return None
        if tok.expires <= self.clock.now():
            del self.tokens[value]
            return None
        return tok.user

    def basic_user(self, header_value: str) -> str | None:
        try:
            decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if not sep or not self.check_password(user, password):
            return None
        return user

    def new_session(self, user: str) -> str:
        sid = secrets.token_hex(16)
        self.sessions[sid] = Token(sid, user, self.clock.now() + self.session_ttl)
        self.issued.append(sid)
        return sid

    def session_user(self, sid: str) -> str | None:
        s = self.sessions.get(sid)
        if s is None:
            return None
        if s.expires <= self.clock.now():
            del self.sessions[sid]
            return None
        s.expires = self.clock.now() + self.session_ttl  # sliding expiry
        return s.user

    def end_session(self, sid: str) -> None:
        self.sessions.pop(sid, None)

    def expire_all(self) -> int:
        n = len(self.tokens) + len(self.sessions)
        self.tokens.clear()
        self.sessions.clear()
        return n
