"""TOTP (RFC 6238, 30-second steps, 6 digits) and recovery codes: the pure parts of multi-factor login.

A code is accepted for the step before and after the current one (clock drift), and returns the step it matched,
so a caller can refuse a step already used: a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

RECOVERY_CODES = 10
_DRIFT_STEPS = 1
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def new_secret() -> str:
    """160 random bits, base32, as authenticator apps take them."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, tenant_id: str) -> str:
    """The `otpauth://` URI an authenticator app reads (usually shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"Lore ({tenant_id})")


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (within one step of `now`), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def current_code(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at `now` (for the operator's tools and tests)."""
    return pyotp.TOTP(secret).at(now)


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 base32 characters (80 bits each) in groups of four: `abcd-efgh-ijkl-mnop`."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_BASE32) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """How a recovery code is stored and looked up: SHA-256 of its normal form (case, dashes and spaces do not
    matter). 80 random bits need no slow hash."""
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def looks_like_totp(code: str) -> bool:
    stripped = code.strip().replace(" ", "")
    return len(stripped) == 6 and stripped.isdigit()
