"""Wire models of document permissions, groups and access explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lore.models import Access, Group
from lore.security.access import Explanation, Reason

MAX_GRANTS = 100

GroupName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AccessIn(BaseModel):
    """Who may read a document besides its owner and the tenant's admins."""

    model_config = ConfigDict(extra="forbid")

    restricted: bool = Field(
        True, description="false: everyone in the tenant reads it (the groups and users are then ignored)."
    )
    groups: Annotated[list[GroupName], Field(max_length=MAX_GRANTS)] = Field(
        default_factory=list, description="Groups of the tenant whose members (and keys) may read it."
    )
    users: Annotated[list[UserId], Field(max_length=MAX_GRANTS)] = Field(
        default_factory=list, description="Ids of the tenant's users who may read it."
    )

    def to_domain(self) -> Access:
        if not self.restricted:
            return Access(restricted=False)
        return Access(True, tuple(dict.fromkeys(self.groups)), tuple(dict.fromkeys(self.users)))


class AccessOut(BaseModel):
    document_id: str
    restricted: bool
    groups: list[str]
    users: list[str]

    @classmethod
    def of(cls, document_id: str, access: Access) -> AccessOut:
        return cls(
            document_id=document_id,
            restricted=access.restricted,
            groups=list(access.groups),
            users=list(access.users),
        )


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName = Field(description="1-64 letters, digits, '.', '_' or '-'.")


class GroupOut(BaseModel):
    name: str
    created_at: datetime
    members: list[str] = Field(description="User ids, sorted.")

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(name=group.name, created_at=group.created_at, members=list(group.members))


class GroupList(BaseModel):
    items: list[GroupOut]


class Explained(BaseModel):
    """Whether a user can read a document, and the rule that decides."""

    document_id: str
    user_id: str
    readable: bool
    reason: Reason = Field(
        description="`admin` (the user's role reads everything), `unrestricted`, `owner`, `granted_user`, "
        "`granted_group` (see `groups`), `not_granted`, or `user_disabled`."
    )
    groups: list[str] = Field(description="The user's groups that the document grants.")
    access: AccessOut = Field(description="The document's permissions.")
    owner: str | None

    @classmethod
    def of(
        cls, document_id: str, user_id: str, owner: str | None, access: Access, explanation: Explanation
    ) -> Explained:
        return cls(
            document_id=document_id,
            user_id=user_id,
            readable=explanation.readable,
            reason=explanation.reason,
            groups=list(explanation.groups),
            access=AccessOut.of(document_id, access),
            owner=owner,
        )
