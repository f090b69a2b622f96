"""`MfaFlow`: a user enrols in TOTP (a secret and its provisioning URI), turns it on by proving one code, and gets
ten single-use recovery codes; a code is checked at login. (An admin's reset is `Accounts.reset_mfa`.)

The TOTP secret is kept encrypted (`lore.security.secrets.SecretBox`); recovery codes are kept as hashes and shown once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lore.backends.store.user_records import UserRecords
from lore.errors import Conflict, InvalidInput
from lore.models import utcnow
from lore.security import mfa
from lore.security.secrets import SecretBox
from lore.security.users import User


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str  # base32, for apps that cannot read the URI
    provisioning_uri: str


class MfaFlow:
    def __init__(self, users: UserRecords, cipher: SecretBox, clock: Callable[[], datetime] = utcnow) -> None:
        self.users = users
        self.cipher = cipher
        self._clock = clock

    def enrol(self, user: User) -> Enrolment:
        """A new secret, pending until `verify`; enrolling again before that replaces it."""
        secret = mfa.new_secret()
        if not self.users.start_mfa(user.id, self.cipher.encrypt(secret)):
            raise Conflict("MFA is already on for this user: an admin can reset it")
        return Enrolment(secret, mfa.provisioning_uri(secret, user.email, user.tenant_id))

    def verify(self, user: User, code: str) -> list[str]:
        """Turn MFA on with a first code from the app; returns the recovery codes, shown this once."""
        if user.mfa_enabled:
            raise Conflict("MFA is already on for this user")
        if user.mfa_secret is None:
            raise Conflict("enrol first: POST /v1/auth/mfa/enrol")
        step = mfa.matching_step(self.cipher.decrypt(user.mfa_secret), code, self._clock())
        if step is None:
            raise InvalidInput(
                "wrong code: use the one the authenticator app shows now", details={"field": "code"}
            )
        codes = mfa.new_recovery_codes()
        if not self.users.enable_mfa(user.id, step, [mfa.recovery_code_hash(c) for c in codes]):
            raise Conflict("the enrolment changed meanwhile: enrol again")
        return codes

    def regenerate_codes(self, user: User, code: str) -> list[str]:
        """Ten new recovery codes for a current TOTP code; the old ones stop working."""
        if not user.mfa_enabled:
            raise Conflict("MFA is not on for this user")
        if not mfa.looks_like_totp(code) or not self.accepts(user, code):
            raise InvalidInput("wrong or already used code", details={"field": "code"})
        codes = mfa.new_recovery_codes()
        self.users.replace_recovery_codes(user.id, [mfa.recovery_code_hash(c) for c in codes])
        return codes

    def accepts(self, user: User, code: str) -> bool:
        """Whether `code` proves the second factor now, spending it: a TOTP step once, a recovery code once."""
        if user.mfa_secret is None or not user.mfa_enabled:
            return False
        if mfa.looks_like_totp(code):
            step = mfa.matching_step(self.cipher.decrypt(user.mfa_secret), code, self._clock())
            return step is not None and self.users.take_totp_step(user.id, step)
        return self.users.spend_recovery_code(user.id, mfa.recovery_code_hash(code))
