"""Reconciliation on demand: an operator repairs job records and Redis entries that disagree
(after an incident, without waiting for the workers' schedule) and sees what was repaired."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from relayq.container import container

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.post(
    "/reconcile",
    summary="Repair job records and Redis entries that disagree (how many requeued, failed, dropped)",
    tags=["workers"],
)
def reconcile() -> dict[str, Any]:
    counts = container().reconciler.run().counts()
    message = "Reconciled: {requeued} requeued, {failed} failed, {dropped} dropped.".format(**counts)
    return {"success": True, "data": counts, "message": message}
