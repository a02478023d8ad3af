"""The audit trail: one ``AuditEvent`` per audited action, hash-chained per workspace.

``audit_record`` is called by the services inside the transaction of the action
it records; the event is appended when that transaction commits, so an action
that rolls back leaves no event. Appending locks the workspace's ``AuditHead``
row: two writers in one workspace append one after the other, never both after
the same predecessor. The hash of an event is
``sha256(prev_hash + canonical JSON of {seq, actor, action, target, details, created_at})``
(keys sorted, no spaces, UTF-8), so any edit of a stored row — its text, its
time, its order — makes ``audit_verify`` fail at that row.

Actions are ``<object>.<verb>``: see ``ACTIONS``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..execution.summaries import json_safe
from ..models import AuditEvent, AuditHead

GENESIS = "0" * 64

ACTIONS = (
    "pipeline.create", "pipeline.update", "pipeline.delete", "pipeline.version",
    "run.start", "run.cancel", "run.retry",
    "dataset.upload", "dataset.duplicate",
    "model.register", "model.card_edit", "model.gates_set", "model.promote", "model.promote_refused",
    "deployment.deploy", "deployment.rollback", "deployment.delete", "deployment.traffic",
    "deployment.monitoring_reference",
    "key.create", "key.revoke",
    "member.set", "member.remove",
)


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "actor": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def audit_record(*, workspace_id: int, user, action: str, target: Any = None, target_type: str = "",
                 target_id: Any = "", details: dict | None = None) -> AuditEvent | None:
    """Append one event to the workspace's chain once the caller's transaction commits.

    ``target``: a model instance (its class name and pk are recorded), or pass
    ``target_type``/``target_id`` directly. Inside a transaction the event is
    appended right after the commit (so a rolled-back action leaves none) in a
    transaction of its own that takes no lock but the chain head: appending
    inside the action's transaction would hold the head while that transaction
    still waits for its other locks, and two writers could deadlock. Outside a
    transaction it is appended at once and returned.
    """
    assert action in ACTIONS, action
    if target is not None:
        target_type = target_type or type(target).__name__.lower()
        target_id = target_id or target.pk
    actor = user if getattr(user, "is_authenticated", False) else None
    event = AuditEvent(
        workspace_id=workspace_id, actor=actor, actor_name=actor.get_username() if actor else "", action=action,
        target_type=target_type, target_id=str(target_id or "")[:100], details=json_safe(details or {}),
    )
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _append(event))
        return None
    return _append(event)


def _append(event: AuditEvent) -> AuditEvent:
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(workspace_id=event.workspace_id).first()
        if head is None:  # the workspace's first event (one statement fewer for every other)
            AuditHead.objects.get_or_create(workspace_id=event.workspace_id)
            head = AuditHead.objects.select_for_update().get(workspace_id=event.workspace_id)
        # Microseconds are what PostgreSQL and SQLite store, so the hash survives a round trip.
        event.seq, event.prev_hash, event.created_at = head.seq + 1, head.hash, timezone.now()
        event.hash = event_hash(head.hash, event)
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


def audit_verify(*, workspace_id: int) -> dict[str, Any]:
    """``{"ok": True, "events": n}`` or ``{"ok": False, "events": n, "broken": {…first bad event}}``.

    Walks the chain in ``seq`` order, streaming rows: a row whose stored hash
    differs from the recomputed one, whose ``prev_hash`` is not its
    predecessor's hash, or a gap in ``seq`` (a deleted row) breaks it. The head
    must match the last event (a deleted tail breaks it too).
    """
    prev, expected_seq, n = GENESIS, 1, 0
    rows = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("seq")
    for event in rows.iterator(chunk_size=2000):
        n += 1
        reason = None
        if event.seq != expected_seq:
            reason = f"event {expected_seq} is missing"
        elif event.prev_hash != prev:
            reason = "its prev_hash is not the hash of the event before it"
        elif event_hash(prev, event) != event.hash:
            reason = "its content does not match its hash"
        if reason:
            return {"ok": False, "events": n, "broken": {**_brief(event), "reason": reason}}
        prev, expected_seq = event.hash, expected_seq + 1
    head = AuditHead.objects.filter(workspace_id=workspace_id).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return {"ok": False, "events": n, "broken": {"seq": expected_seq, "reason": "events after this one are missing"}}
    return {"ok": True, "events": n}


def _brief(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.pk, "seq": event.seq, "action": event.action, "actor": event.actor_name,
            "created_at": event.created_at}
