"""Signing secrets and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

    >>> secret = new_secret()
    >>> headers("evt_1", '{"type": "job.failed"}', [secret], utcnow())["webhook-signature"]
    'v1,...'

While a rotated secret overlaps the new one, both sign: the header carries a signature per secret, separated by
spaces, and a receiver verifying with either accepts the delivery.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(message_id: str, payload: str, signing: Sequence[str], at: datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(message_id, at, payload) for secret in signing)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
