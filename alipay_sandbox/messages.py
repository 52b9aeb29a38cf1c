"""What the emulator says: return parameters, notify fields and server-API answers (pure)."""

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from alipay_sandbox import clock
from alipay_sandbox.trades import TRADE_CLOSED, ZERO, Refund, Trade

RETURN_METHODS = {
    "alipay.trade.page.pay": "alipay.trade.page.pay.return",
    "alipay.trade.wap.pay": "alipay.trade.wap.pay.return",
}


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def return_params(trade: Trade, seller_id: str, at: datetime) -> dict[str, str]:
    """The parameters of the browser's redirect to return_url (§5); there is no trade_status."""
    link = trade.link
    return {
        "charset": link.charset,
        "out_trade_no": trade.out_trade_no,
        "method": RETURN_METHODS[link.method],
        "total_amount": money(trade.total_amount),
        "trade_no": trade.trade_no,
        "auth_app_id": link.app_id,
        "version": "1.0",
        "app_id": link.app_id,
        "seller_id": seller_id,
        "timestamp": clock.beijing(at),
    }


def notify_fields(
    trade: Trade,
    trade_status: str,
    seller_id: str,
    notify_id: str,
    at: datetime,
    refund: Refund | None = None,
) -> dict[str, str]:
    """A trade_status_sync notify (§6.2), without sign and sign_type."""
    link = trade.link
    fields = {
        "notify_time": clock.beijing(at),
        "notify_type": "trade_status_sync",
        "notify_id": notify_id,
        "app_id": link.app_id,
        "auth_app_id": link.app_id,
        "charset": link.charset,
        "version": "1.0",
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_id": trade.buyer_id,
        "buyer_logon_id": trade.buyer_logon_id,
        "seller_id": seller_id,
        "seller_email": f"seller{seller_id[-4:]}@sandbox.com",
        "trade_status": trade_status,
        "total_amount": money(trade.total_amount),
        "subject": link.order.subject,
        "gmt_create": clock.beijing(trade.gmt_create),
    }
    if refund is None:
        # a refund's notify leaves out the amount breakdown and fund_bill_list (§6.2)
        fields |= amounts(trade)
    if link.order.body:
        fields["body"] = link.order.body
    if link.order.passback_params:
        fields["passback_params"] = link.order.passback_params
    if trade.gmt_payment:
        fields["gmt_payment"] = clock.beijing(trade.gmt_payment)
        if refund is None:
            # notifies spell the channel fundChannel (camelCase), queries fund_channel
            fields["fund_bill_list"] = json.dumps(
                [
                    {"amount": money(amount), "fundChannel": channel}
                    for channel, amount in fund_bills(trade)
                ],
                separators=(",", ":"),
            )
    if refund is not None:
        fields["out_biz_no"] = refund.out_request_no
        fields["refund_fee"] = money(sum_refunds_until(trade, refund))
        fields["gmt_refund"] = clock.beijing_ms(refund.gmt_refund)
    if trade_status == TRADE_CLOSED and trade.gmt_close:
        fields["gmt_close"] = clock.beijing(trade.gmt_close)
    return fields


def amounts(trade: Trade) -> dict[str, str]:
    """The amount breakdown of a payment (zero before it is paid)."""
    return {
        "receipt_amount": money(trade.receipt_amount),
        "invoice_amount": money(trade.buyer_pay_amount),
        "buyer_pay_amount": money(trade.buyer_pay_amount),
        "point_amount": money(trade.paid_point_amount),
    }


def fund_bills(trade: Trade) -> list[tuple[str, Decimal]]:
    """What paid the trade: the buyer's money, then points, then the merchant's coupon."""
    bills = [("ALIPAYACCOUNT", trade.buyer_pay_amount)]
    if trade.point_amount:
        bills.append(("POINT", trade.point_amount))
    if trade.discount_amount:
        bills.append(("MDISCOUNT", trade.discount_amount))
    return bills


def sum_refunds_until(trade: Trade, refund: Refund) -> Decimal:
    """Cumulative refund_fee as of this refund (later refunds not counted)."""
    total = ZERO
    for earlier in trade.refunds:
        total += earlier.refund_amount
        if earlier is refund:
            break
    return total


def success(**fields) -> dict:
    return {"code": "10000", "msg": "Success", **fields}


def query_content(trade: Trade, query_options: Sequence[str] = ()) -> dict:
    """fund_bill_list only when query_options asks for it, as at Alipay."""
    content = success(
        trade_no=trade.trade_no,
        out_trade_no=trade.out_trade_no,
        buyer_logon_id=trade.buyer_logon_id,
        trade_status=trade.status,
        total_amount=money(trade.total_amount),
        **amounts(trade),
        buyer_user_id=trade.buyer_id,
        subject=trade.link.order.subject,
    )
    if trade.gmt_payment:
        content["send_pay_date"] = clock.beijing(trade.gmt_payment)
        if "fund_bill_list" in query_options:
            content["fund_bill_list"] = [
                {"fund_channel": channel, "amount": money(amount)}
                for channel, amount in fund_bills(trade)
            ]
    return content


def close_content(trade: Trade) -> dict:
    return success(trade_no=trade.trade_no, out_trade_no=trade.out_trade_no)


def cancel_content(trade: Trade) -> dict:
    """retry_flag N (done); action `refund` when money went back to the buyer, else `close`."""
    action = "refund" if trade.refunds else "close"
    content = success(
        trade_no=trade.trade_no, out_trade_no=trade.out_trade_no, retry_flag="N", action=action
    )
    if trade.refunds:
        content["gmt_refund_pay"] = clock.beijing(trade.refunds[-1].gmt_refund)
    return content


def refund_content(trade: Trade, refund: Refund, fund_change: bool) -> dict:
    return success(
        trade_no=trade.trade_no,
        out_trade_no=trade.out_trade_no,
        buyer_logon_id=trade.buyer_logon_id,
        buyer_user_id=trade.buyer_id,
        fund_change="Y" if fund_change else "N",
        refund_fee=money(trade.refund_fee),
        gmt_refund_pay=clock.beijing(refund.gmt_refund),
        send_back_fee=money(refund.refund_amount),
    )


def refund_query_content(trade: Trade, refund: Refund | None) -> dict:
    """code 10000 only means the query ran; an unknown refund has no refund fields."""
    if refund is None:
        return success(trade_no=trade.trade_no, out_trade_no=trade.out_trade_no)
    content = success(
        trade_no=trade.trade_no,
        out_trade_no=trade.out_trade_no,
        out_request_no=refund.out_request_no,
        total_amount=money(trade.total_amount),
        refund_amount=money(refund.refund_amount),
        refund_status="REFUND_SUCCESS",
        gmt_refund_pay=clock.beijing(refund.gmt_refund),
    )
    if refund.refund_reason:
        content["refund_reason"] = refund.refund_reason
    return content
