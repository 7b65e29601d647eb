"""Verify grantline messages (grants, revocations, rejections) in Python.

`signature` is a detached compact JWS (RFC 7515 appendix F: `<header>..<signature>`) made with
EdDSA/Ed25519 over the base64url of the RFC 8785 canonical JSON of the message without
`signature`, with a key from grantline's JWK Set (`/.well-known/jwks.json`).

Needs only the standard library and `cryptography` (Debian: python3-cryptography).
"""

import base64
import json
import math
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TYP = "grantline-message+jws"


def _number(value):
    """An RFC 8785 number: what ECMAScript's Number.prototype.toString prints for the double."""
    if isinstance(value, int):
        if abs(value) < 2**53:
            return str(value)
        value = float(value)  # JSON numbers are doubles: a larger integer is rounded, as in JavaScript
    if math.isnan(value) or math.isinf(value):
        raise ValueError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, as ECMAScript does; only the layout differs.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    significant = (whole + fraction).lstrip("0")
    # value = 0.<digits> * 10**n, the form ECMAScript's Number::toString starts from
    n = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + text


def canonicalize(value):
    """RFC 8785 (JCS) text of a parsed JSON value.

    Not `json.dumps(value, sort_keys=True, separators=(",", ":"))`: that sorts keys by code point
    instead of UTF-16 code units, escapes every non-ASCII character unless ensure_ascii=False, and
    prints floats in Python's layout (100.0, 1e-07, 1e+20 where JCS has 100, 1e-7,
    100000000000000000000). Ticket text goes into signed fields verbatim, so a consumer that
    re-serializes with json.dumps defaults breaks the signature of real messages.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        # ensure_ascii=False escapes exactly what ECMAScript's JSON.stringify escapes: quote,
        # backslash and control characters (\b \t \n \f \r, else \u00xx with lower-case hex).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonicalize(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonicalize(value[k]) for k in keys) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_jwks(url, timeout=5):
    """Fetches grantline's JWK Set: {kid: Ed25519PublicKey}. Retired keys stay in it, so old messages still verify."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return keys_from_jwks(json.load(response))


def keys_from_jwks(jwks):
    keys = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and isinstance(jwk.get("kid"), str) and isinstance(jwk.get("x"), str):
            raw = _b64url_decode(jwk["x"])
            if len(raw) == 32:
                keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


class Verdict:
    def __init__(self, ok, kid, detail, message):
        self.ok, self.kid, self.detail, self.message = ok, kid, detail, message


def verify(value, keys):
    """Verifies a Kafka message value (bytes or str, as received). Never raises for bad input."""
    try:
        message = json.loads(value)
    except (ValueError, UnicodeDecodeError) as err:
        return Verdict(False, None, f"the value is not JSON: {err}", None)
    if not isinstance(message, dict):
        return Verdict(False, None, "the value is not a JSON object", None)
    signature = message.get("signature")
    if not isinstance(signature, str):
        return Verdict(False, None, "the message has no signature", message)

    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        return Verdict(False, None, "the signature is not a detached compact JWS (<header>..<signature>)", message)
    encoded_header, _, encoded_signature = parts
    try:
        header = json.loads(_b64url_decode(encoded_header))
        sig = _b64url_decode(encoded_signature)
    except ValueError:
        return Verdict(False, None, "the signature's parts are not base64url", message)
    kid = header.get("kid") if isinstance(header, dict) else None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        return Verdict(False, kid, "header alg is not EdDSA", message)
    if header.get("typ") != TYP:
        return Verdict(False, kid, f"header typ is not {TYP}: this signature was made for something else", message)
    # Libraries that do detached JWS (PyJWT's detached_payload) expect b64=false; grantline leaves
    # b64 unset, so the payload is base64url-encoded in the signing input and is built by hand here.
    if "crit" in header or "b64" in header:
        return Verdict(False, kid, "header carries crit or b64, which grantline signatures never use", message)
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        return Verdict(False, kid, f"no Ed25519 key with kid {kid} in the JWKS (it has {sorted(keys)})", message)

    unsigned = {k: v for k, v in message.items() if k != "signature"}
    try:
        canonical = canonicalize(unsigned).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError) as err:
        return Verdict(False, kid, f"the message cannot be canonicalized: {err}", message)
    signing_input = (encoded_header + "." + _b64url(canonical)).encode("ascii")
    try:
        if len(sig) != 64:
            raise InvalidSignature()
        key.verify(sig, signing_input)
    except InvalidSignature:
        return Verdict(False, kid, "signature does not match: the message was altered after signing, or signed by another key", message)
    return Verdict(True, kid, "signature valid", message)
