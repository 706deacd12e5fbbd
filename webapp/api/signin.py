"""Merchant sign-in (EIP-4361, Sign-In with Ethereum): a fresh message to sign, its check
(webapp/siwe.py), the cookie session it opens, who is signed in, sign-out."""

from __future__ import annotations

from flask import Response, after_this_request

from webapp import siwe
from webapp.api.blueprint import SIGN_IN, Reply, get, post
from webapp.api.models import (
    Session,
    SignedIn,
    SignedOut,
    SiweNonce,
    SiweNonceQuery,
    SiweVerifyRequest,
)
from webapp.errors import ApiError
from webapp.present import state
from webapp.sessions import TooManySignIns

TOO_MANY = {429: {"description": "Too many sign-ins in progress", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
NOBODY = {401: {"description": "Nobody is signed in (or the signature does not hold)",
                "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Error"}}}}}


@get("/siwe/nonce", SiweNonce, responses=TOO_MANY, tags=[SIGN_IN])
def siwe_nonce(query: SiweNonceQuery) -> Reply:
    """A fresh EIP-4361 message to sign (query: address)"""
    st = state()
    try:
        nonce = st.siwe.new_nonce()
    except TooManySignIns:
        raise ApiError(429, "too many sign-ins are in progress: try again in a few minutes",
                       None, "TooManySignIns") from None
    # The configured public origin, never the request's Host (a relaying site's domain).
    where = siwe.site()
    message = siwe.build_message(where.domain, query.address, where.origin, where.chain_id,
                                 nonce)
    return {"message": message.text, "nonce": message.nonce,
            "expirationTime": message.expiration_time}


@post("/siwe/verify", SignedIn, responses=NOBODY, tags=[SIGN_IN])
def siwe_verify(body: SiweVerifyRequest) -> Reply:
    """Sign in: the signed EIP-4361 message

    Opens a server-side session; the cookie holds only its random id (HttpOnly,
    SameSite=Lax)."""
    st = state()
    where = siwe.site()
    parsed = siwe.verify(body.message, body.signature, domain=where.domain, uri=where.origin,
                         chain_id=where.chain_id, use_nonce=st.siwe.use_nonce)
    sid = st.siwe.open_session(parsed.address)

    @after_this_request
    def _cookie(response: Response) -> Response:
        response.set_cookie(where.cookie, sid, httponly=True, samesite="Lax",
                            secure=where.secure)
        return response

    return {"address": parsed.address,
            "merchants": [m.to_json() for m in st.merchants_of(parsed.address)]}


@post("/siwe/logout", SignedOut, tags=[SIGN_IN])
def siwe_logout() -> Reply:
    """Sign out"""
    state().siwe.close_session(siwe.session_id())

    @after_this_request
    def _forget(response: Response) -> Response:
        response.delete_cookie(siwe.site().cookie)
        return response

    return {"signedOut": True}


@get("/siwe/me", Session, responses=NOBODY, tags=[SIGN_IN])
def siwe_me() -> Reply:
    """The signed-in address (cookie session)"""
    session = state().siwe.session(siwe.session_id())
    if session is None:
        raise ApiError(401, "not signed in", None)
    return {"address": session.address, "expires": int(session.expires),
            "merchants": [m.to_json() for m in state().merchants_of(session.address)]}
