"""A login takes as long for an unknown email as for a wrong password, so timing does not tell which accounts
exist. Tries alternate, so a busy moment of the machine slows both kinds alike."""

from __future__ import annotations

import statistics
import time

import pytest

from lore.errors import Unauthenticated
from lore.security.identity import Identity
from tests.security.conftest import Staff

TRIES = 20


def seconds(identity: Identity, email: str) -> float:
    started = time.perf_counter()
    with pytest.raises(Unauthenticated):
        identity.logins.check_password("default", email, "not the password")
    return time.perf_counter() - started


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_unknown_accounts_take_as_long_as_wrong_passwords(identity: Identity, staff: Staff) -> None:
    for n in range(TRIES):  # enough users that failures never lock one
        staff.add(f"user{n}@example.org")
    known, unknown = [], []
    for n in range(TRIES):
        known.append(seconds(identity, f"user{n}@example.org"))
        unknown.append(seconds(identity, f"nobody{n}@example.org"))
    ratio = statistics.mean(unknown) / statistics.mean(known)
    # Without the dummy hash an unknown email answers in well under a millisecond: a ratio near zero.
    assert 0.5 < ratio < 2.0, (statistics.mean(known), statistics.mean(unknown))
