"""Wire models of users and logins: what the auth and users routes accept and return, and what `lore users`
prints with `--json`. Secrets appear only where they are handed over once: tokens in a login's answer, a TOTP
secret at enrolment, recovery codes when they are made."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lore.models import DEFAULT_TENANT
from lore.security.logins import MfaChallenge, TokenPair, WebSession
from lore.security.mfa_flow import Enrolment
from lore.security.passwords import MAX_PASSWORD_CHARS
from lore.security.scopes import RoleName
from lore.security.users import MAX_EMAIL_CHARS, User

Email = Annotated[str, StringConstraints(min_length=3, max_length=MAX_EMAIL_CHARS)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_CHARS)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Code = Annotated[
    str,
    StringConstraints(min_length=6, max_length=64, strip_whitespace=True),
    Field(description="A TOTP code or a recovery code."),
]
TenantName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- logins --------------------------------------------------------------------------------------------------


class LoginIn(Input):
    tenant: TenantName = DEFAULT_TENANT
    email: Email
    password: Password


class MfaLoginIn(Input):
    mfa_token: Token = Field(description="The `mfa_token` of the password step's answer.")
    code: Code


class RefreshIn(Input):
    refresh_token: Token


class TokensOut(BaseModel):
    """A login's tokens: send `access_token` as `Authorization: Bearer`; trade `refresh_token` for a new pair
    before it expires (each works once)."""

    status: Literal["authenticated"] = "authenticated"
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str
    refresh_expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokensOut:
        return cls(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
        )


class MfaRequiredOut(BaseModel):
    """The password held; finish with the code from the user's authenticator app (or a recovery code)."""

    status: Literal["mfa_required"] = "mfa_required"
    mfa_token: str
    expires_in: int

    @classmethod
    def of(cls, challenge: MfaChallenge) -> MfaRequiredOut:
        return cls(mfa_token=challenge.token, expires_in=challenge.expires_in)


# -- users ---------------------------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: str
    tenant: str
    email: str
    role: RoleName
    mfa_enabled: bool
    single_sign_on: bool = Field(description="Linked to an identity at the tenant's OpenID Connect provider.")
    has_password: bool
    disabled: bool
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            tenant=user.tenant_id,
            email=user.email,
            role=user.role,
            mfa_enabled=user.mfa_enabled,
            single_sign_on=user.oidc_subject is not None,
            has_password=user.password_hash is not None,
            disabled=user.disabled_at is not None,
            locked_until=user.locked_until,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class MeOut(UserOut):
    scopes: list[str] = Field(description="What this login may do now.")
    mfa_enrolment_required: bool = Field(
        description="The tenant requires MFA of admins and owners: until it is on, this user acts as a viewer."
    )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserIn(Input):
    email: Email
    role: RoleName = "viewer"
    password: Password | None = Field(None, description="None: the user signs in through single sign-on.")


class UserPatch(Input):
    role: RoleName | None = None
    disabled: bool | None = Field(None, description="True ends the user's logins at once.")

    @model_validator(mode="after")
    def _something(self) -> UserPatch:
        if self.role is None and self.disabled is None:
            raise ValueError("give role, disabled or both")
        return self


class PasswordResetIn(Input):
    password: Password


class PasswordChangeIn(Input):
    current_password: Password
    new_password: Password


# -- MFA -----------------------------------------------------------------------------------------------------


class EnrolmentOut(BaseModel):
    """Show `provisioning_uri` as a QR code (or `secret` for typing), then verify a first code."""

    secret: str
    provisioning_uri: str

    @classmethod
    def of(cls, enrolment: Enrolment) -> EnrolmentOut:
        return cls(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


class MfaCodeIn(Input):
    code: Code


class RecoveryCodesOut(BaseModel):
    """Ten single-use codes for when the authenticator app is lost: shown this once."""

    recovery_codes: list[str]


# -- web sessions --------------------------------------------------------------------------------------------


class SessionOut(BaseModel):
    """A web session: its cookie is set (HttpOnly); send `csrf_token` as `X-CSRF-Token` with every change."""

    status: Literal["authenticated"] = "authenticated"
    user: UserOut
    csrf_token: str
    expires_at: datetime

    @classmethod
    def of(cls, session: WebSession) -> SessionOut:
        return cls(
            user=UserOut.of(session.user), csrf_token=session.csrf_token, expires_at=session.expires_at
        )


LoginOut = Annotated[TokensOut | MfaRequiredOut, Field(discriminator="status")]
SessionLoginOut = Annotated[SessionOut | MfaRequiredOut, Field(discriminator="status")]
