#!/usr/bin/python3
"""A grantline consumer in Python.

Reads grant topics (and, if asked, the rejection topic), verifies every message against grantline's
JWKS and prints one JSON line per message saying what it would do. A real PAM or secrets adapter
provisions where this prints "provision", and never acts on a message that did not verify.

    /usr/bin/python3 grant_consumer.py --brokers 127.0.0.1:9092 --topic access.grants.pam.v1 \\
        --jwks http://127.0.0.1:8080/.well-known/jwks.json [--topic access.requests.rejected.v1] \\
        [--group ID] [--max-messages N] [--idle-timeout-ms MS]

Needs Debian's python3-confluent-kafka and python3-cryptography (run it with /usr/bin/python3).
"""

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaException

from grantline_verify import load_jwks, verify

EXPECTED_OUTCOME = {
    "dev.grantline.grant.issued.v1": "granted",
    "dev.grantline.grant.revoked.v1": "revoked",
    "dev.grantline.request.rejected.v1": "rejected",
}


def header(msg, name):
    """The last value of a header as text (Kafka allows a name twice; CloudEvents sets each once)."""
    values = [value for key, value in (msg.headers() or []) if key == name and value is not None]
    return values[-1].decode("utf-8") if values else None


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def refuse(out, detail):
    out.update(verdict="refused", action="none", detail=detail)
    return out


def handle(msg, keys):
    """Decides what to do with one message: verify first, then trust only what was signed."""
    key = msg.key().decode("utf-8") if msg.key() is not None else None
    ce_type = header(msg, "ce_type")
    out = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(), "key": key, "ceType": ce_type}
    if header(msg, "ce_specversion") != "1.0" or ce_type is None:
        return refuse(out, "not a CloudEvent in binary mode (ce_specversion 1.0 and ce_type headers)")
    expected = EXPECTED_OUTCOME.get(ce_type)
    if expected is None:
        # A type added later: not an error, and never acted on.
        out.update(verdict="ignored", action="none", detail=f"ce_type {ce_type} is not one this consumer handles")
        return out
    if msg.value() is None:
        return refuse(out, "the message has no value")

    verdict = verify(msg.value(), keys)
    out["kid"] = verdict.kid
    if not verdict.ok:
        return refuse(out, verdict.detail)
    m = verdict.message

    # ce_* headers are not signed: the verified body must say the same as ce_type.
    if m.get("outcome") != expected:
        return refuse(out, f"ce_type says {ce_type} but the signed message's outcome is {m.get('outcome')}")
    # Nor is the key: a signed message copied under another key could overtake its revocation.
    source = m.get("source") or {}
    expected_key = f"{source.get('connectorId')}|{source.get('ticketId')}" if expected == "rejected" else m.get("grantId")
    if key != expected_key:
        return refuse(out, f"the key {key} is not the message's {expected_key}")

    if expected == "granted":
        out["id"] = m["grantId"]
        now = datetime.now(timezone.utc)
        valid_from, expires_at = parse_time(m["validFrom"]), parse_time(m["expiresAt"])
        if not valid_from <= now < expires_at:
            return refuse(out, f"the grant is valid from {m['validFrom']} until {m['expiresAt']}, not now")
        subject = m["subject"]
        out.update(
            verdict="accepted",
            action="provision",
            detail=f"provision {m['entitlementId']} on {m['resource']} ({m['environment']}) for {subject['type']} {subject['id']} until {m['expiresAt']}",
        )
    elif expected == "revoked":
        out.update(id=m["grantId"], revocationId=m["revocationId"], verdict="accepted", action="deprovision", detail=f"deprovision grant {m['grantId']} ({m['trigger']})")
    else:
        codes = [r["code"] for r in m["reasons"]]
        out.update(id=m["rejectionId"], verdict="accepted", action="record-rejection", detail=f"{source.get('ticketKey')} rejected: {', '.join(codes)}")
    return out


def main():
    parser = argparse.ArgumentParser(description="Verify grantline grants, revocations and rejections from Kafka.")
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", action="append", required=True)
    parser.add_argument("--jwks", required=True, help="grantline's /.well-known/jwks.json URL")
    parser.add_argument("--group", default=f"grantline-example-consumer-{uuid.uuid4()}")
    parser.add_argument("--max-messages", type=int, default=sys.maxsize)
    parser.add_argument("--idle-timeout-ms", type=int, default=sys.maxsize)
    args = parser.parse_args()

    keys = load_jwks(args.jwks)
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            # Grant and rejection topics are written in transactions: read_committed never shows an aborted grant.
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            # Offsets are committed after the messages are handled, never before.
            "enable.auto.commit": False,
        }
    )
    handled = 0
    last_activity = time.monotonic()
    try:
        consumer.subscribe(args.topic)
        while handled < args.max_messages and (time.monotonic() - last_activity) * 1000 < args.idle_timeout_ms:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                # Reaching the end of a partition or a retriable broker error is not fatal.
                if msg.error().fatal():
                    raise KafkaException(msg.error())
                continue
            print(json.dumps(handle(msg, keys), ensure_ascii=False), flush=True)
            consumer.commit(message=msg, asynchronous=False)
            handled += 1
            last_activity = time.monotonic()
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
