"""The HTML the buyer sees: the cashier, and Alipay-style error pages."""

from html import escape

from alipay_sandbox import messages
from alipay_sandbox.trades import Link, Trade

STYLE = """
body { font-family: sans-serif; background: #f5f5f5; margin: 0; }
main { max-width: 28rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; }
h1 { color: #1677ff; font-size: 1.3rem; } .amount { font-size: 2rem; margin: 1rem 0; }
button { font-size: 1rem; padding: .6rem 1.6rem; margin-right: .5rem; border-radius: 4px; }
#pay { background: #1677ff; color: #fff; border: none; } .code { color: #c00; }
pre { white-space: pre-wrap; word-break: break-all; background: #f0f0f0; padding: .5rem; }
form { display: inline; }
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def cashier(link: Link, trade: Trade | None) -> str:
    """Before the buyer logs in (or scans) there is no trade: `#login` creates it; `#pay` logs
    in and pays in one step either way."""
    order = link.order
    link_id = escape(link.link_id)
    if trade is None:
        state = (
            '<p id="login-state">Not logged in: no trade yet.</p>'
            f'<form method="post" action="/cashier/{link_id}/login">'
            '<button id="login" type="submit">Log in (or scan)</button></form>'
        )
    else:
        state = (
            f'<p id="login-state">Logged in as {escape(trade.buyer_logon_id)}.<br>'
            f'Trade number: <span id="trade-no">{escape(trade.trade_no)}</span></p>'
        )
    return page(
        "Alipay sandbox cashier",
        f"""<h1>Alipay sandbox cashier</h1>
<p id="subject">{escape(order.subject)}</p>
<p class="amount">¥ <span id="amount">{messages.money(order.total_amount)}</span></p>
<p>Order number: <span id="out-trade-no">{escape(order.out_trade_no)}</span></p>
{state}
<form method="post" action="/cashier/{link_id}/pay">
<button id="pay" type="submit">Pay</button></form>
<form method="post" action="/cashier/{escape(link.link_id)}/cancel">
<button id="cancel" type="submit">Cancel</button></form>""",
    )


def error(code: str, sub_code: str, sub_msg: str, sign_string: str | None = None) -> str:
    """Alipay's gateway error page; it echoes the sign string it rebuilt (`&` escaped)."""
    echo = ""
    if sign_string is not None:
        echo = f'<p>网关生成的验签字符串为：</p><pre id="sign-string">{escape(sign_string)}</pre>'
    return page(
        "Alipay sandbox: error",
        f"""<h1>支付宝 sandbox: the request was refused</h1>
<p>错误代码 <span class="code" id="error-code">{escape(sub_code)}</span> ({escape(code)})</p>
<p>错误原因: <span id="error-reason">{escape(sub_msg)}</span></p>{echo}""",
    )


def message(title: str, text: str, link_url: str | None = None) -> str:
    back = f'<p><a id="back" href="{escape(link_url)}">Back to the shop</a></p>' if link_url else ""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{back}")
