"""A buyer at the emulator's cashier: opening a pay link creates no trade at Alipay; logging in
(or scanning the QR code) does."""

import re
from urllib.parse import urljoin

import httpx

LOGIN_FORM = re.compile(r'<form method="post" action="([^"]+/login)">')


def login_url(page: httpx.Response) -> str:
    match = LOGIN_FORM.search(page.text)
    assert match, f"no login form on the cashier page ({page.status_code}): {page.text[:300]}"
    return urljoin(str(page.url), match[1])


def log_in(pay_url: str) -> httpx.Response:
    """Open the link and log in: the cashier page, now with the trade (WAIT_BUYER_PAY)."""
    page = httpx.get(pay_url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return httpx.post(login_url(page), follow_redirects=True, timeout=10)


async def log_in_async(client: httpx.AsyncClient, pay_url: str) -> httpx.Response:
    page = await client.get(pay_url)
    assert page.status_code == 200, page.text[:300]
    return await client.post(login_url(page), follow_redirects=True)
