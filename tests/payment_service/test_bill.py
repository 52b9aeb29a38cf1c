"""The daily bill: Alipay's CSV read as Alipay writes it, and `reconcile-bill` against the
emulator's bill of its own trades (payment service and emulator as real processes)."""

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx

from shared.alipay_bill import REFUND, TRADE, read_bill, read_detail
from tests.support.processes import ROOT

from .conftest import create_payment, new_order_id, payment_env

DATA = Path(__file__).parent / "data"
BEIJING = timezone(timedelta(hours=8))


def test_reads_a_bill_as_alipay_writes_it():
    """GBK, `#` header and footer, tab-padded values, a trade and a partial refund."""
    rows = read_detail((DATA / "alipay_trade_bill_detail.csv").read_bytes())
    assert [(r.kind, r.out_trade_no, r.order_amount, r.received, r.fee) for r in rows] == [
        (TRADE, "PAID1", Decimal("12.50"), Decimal("12.50"), Decimal("-0.08")),
        (REFUND, "PAID1", Decimal("12.50"), Decimal("-2.50"), Decimal("0.02")),
    ]
    assert rows[1].out_request_no == "PAID1R1" and rows[0].subject == "订单 PAID1"
    # in a zip beside the 汇总 file, names in GBK read back through cp437 (Python writes the
    # mojibake name flagged UTF-8, so the round trip is the same as for Alipay's GBK bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in (
            ("20880000000000420156_20240102_业务明细.csv", (DATA / "alipay_trade_bill_detail.csv")),
            ("20880000000000420156_20240102_业务明细(汇总).csv", None),
        ):
            info = zipfile.ZipInfo(name.encode("gbk").decode("cp437"))
            archive.writestr(info, body.read_bytes() if body else "#汇总\r\n".encode("gbk"))
    assert read_bill(buffer.getvalue()) == rows


def reconcile(env: dict, day) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "payment_service", "reconcile-bill", day.isoformat()],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_reconcile_bill_finds_what_differs(payment_service, payment_db, sandbox):
    env = payment_env(
        payment_db.engine.url.render_as_string(hide_password=False),
        f"{sandbox.url}/gateway.do",
        "http://127.0.0.1:9",
        port=payment_service.port,
    )
    async with httpx.AsyncClient() as http:
        # one payment paid and recorded (notify), one paid at Alipay whose notifies all fail
        good, lost = new_order_id(), new_order_id()
        await http.post(
            f"{sandbox.url}/sandbox/faults", json={"out_trade_no": lost, "fail_first": 8}
        )
        for order_id in (good, lost):
            response = await create_payment(payment_service, order_id)
            await http.get(response.json()["pay_url"])
            assert (await http.post(f"{sandbox.url}/sandbox/trades/{order_id}/pay")).is_success
    for _ in range(100):
        if (await payment_db.payment(good))["status"] == "paid":
            break
        await asyncio.sleep(0.1)
    day = datetime.now(UTC).astimezone(BEIJING).date()
    # a payment we recorded as paid that Alipay's bill does not know
    ghost = new_order_id()
    await create_payment(payment_service, ghost)
    async with payment_db.engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE payments SET status = 'paid', paid_at = now() WHERE order_id = $1", (ghost,)
        )

    result = await asyncio.to_thread(reconcile, env, day)

    assert result.returncode == 1, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {(item["kind"], item["out_trade_no"]) for item in found}
    assert ("not_paid_here", lost) in kinds
    assert ("missing_from_bill", ghost) in kinds
    assert not any(item["out_trade_no"] == good for item in found)
    stored = await payment_db.rows(
        "SELECT kind, out_trade_no FROM bill_mismatches WHERE bill_date = :d", d=day
    )
    assert {(row["kind"], row["out_trade_no"]) for row in stored} >= kinds
    # running it again replaces the day's findings rather than adding to them
    again = await asyncio.to_thread(reconcile, env, day)
    assert again.returncode == 1
    assert len(
        await payment_db.rows("SELECT id FROM bill_mismatches WHERE bill_date = :d", d=day)
    ) == len(stored)
