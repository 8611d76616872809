"""The seam for a treasury's own identity provider (docs/workspace.md).

When `WORKSPACE_OIDC_ISSUER` and `WORKSPACE_OIDC_JWKS` are set, a request to `/signin/oidc`
carrying `Authorization: Bearer <ID token>` (as an authenticating proxy in front forwards
it) signs the officer in, if the token is signed by one of the issuer's keys, is for
`WORKSPACE_OIDC_AUDIENCE` and has not expired. The officer's office and role still come from
`TREASURY_DIRECTORY`: the provider says who the person is, the directory what they may do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt

ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]


class OidcRefused(Exception):
    """The token cannot be trusted; the message says why."""


class OidcVerifier:
    def __init__(self, *, issuer: str, jwks: str, audience: str, email_claim: str) -> None:
        self._issuer, self._audience, self._claim = issuer, audience, email_claim
        if jwks.startswith("https://"):
            self._client: jwt.PyJWKClient | None = jwt.PyJWKClient(jwks, cache_keys=True)
            self._keys: jwt.PyJWKSet | None = None
        else:
            self._client = None
            self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(jwks).read_text()))

    def email(self, token: str) -> str:
        """The verified email of the token's subject."""
        try:
            key = self._key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience or None,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "sub"], "verify_aud": bool(self._audience)},
            )
        except jwt.PyJWTError as err:
            raise OidcRefused(str(err)) from None
        email = claims.get(self._claim)
        if not isinstance(email, str) or "@" not in email:
            raise OidcRefused(f"the token has no `{self._claim}` claim")
        if claims.get("email_verified") is False:
            raise OidcRefused("the provider has not verified this email")
        return email

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise OidcRefused(f"no key {kid!r} in the issuer's key set")
