"""Alipay's trade bill (`bill_type=trade`): a zip of GBK CSV files, as Alipay writes them.

`alipay.data.dataservice.bill.downloadurl.query` answers a short-lived `bill_download_url`; the
zip behind it holds `<account>_<yyyyMMdd>_业务明细.csv` (one line per trade and per refund) and
`<account>_<yyyyMMdd>_业务明细(汇总).csv` (totals). Each CSV is GBK, begins with `#` lines (title,
account, period, a dashed rule), then the column names, the rows, a closing dashed rule and `#`
totals. Alipay pads each value with a trailing tab (so spreadsheets keep long numbers as text).

The payment service reads it (`read_bill`); the emulator writes it (`write_bill`) for its own
trades. The reader is also tested on a bill written by hand as Alipay writes it.
"""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

ENCODING = "gbk"
TRADE = "交易"
REFUND = "退款"
COLUMNS = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
)
DETAIL_SUFFIX = "_业务明细.csv"
SUMMARY_SUFFIX = "_业务明细(汇总).csv"


class BillFormatError(ValueError):
    """The file is not an Alipay trade bill we can read."""


@dataclass(frozen=True)
class BillRow:
    trade_no: str
    out_trade_no: str
    kind: str  # 交易 (a payment) or 退款 (a refund)
    subject: str
    created: str
    finished: str
    order_amount: Decimal  # 订单金额: the trade's total
    received: Decimal  # 商家实收: what the merchant got (negative for a refund)
    out_request_no: str  # 退款批次号/请求号 (refunds)
    fee: Decimal  # 服务费: Alipay's fee (negative: charged; positive: returned on a refund)


def _money(text: str) -> Decimal:
    text = text.strip()
    return Decimal(text) if text else Decimal("0.00")


def read_detail(csv_bytes: bytes) -> list[BillRow]:
    """The rows of a 业务明细 CSV: `#` lines skipped, values stripped of Alipay's tab padding."""
    text = csv_bytes.decode(ENCODING)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise BillFormatError("no column line in the bill")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [name.strip() for name in next(reader)]
    missing = [
        name
        for name in (
            "支付宝交易号",
            "商户订单号",
            "业务类型",
            "订单金额（元）",
            "商家实收（元）",
            "服务费（元）",
        )
        if name not in header
    ]
    if missing:
        raise BillFormatError(f"the bill lacks the columns {missing}")
    index = {name: position for position, name in enumerate(header)}

    def value(row: list[str], name: str) -> str:
        position = index.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        rows.append(
            BillRow(
                trade_no=value(row, "支付宝交易号"),
                out_trade_no=value(row, "商户订单号"),
                kind=value(row, "业务类型"),
                subject=value(row, "商品名称"),
                created=value(row, "创建时间"),
                finished=value(row, "完成时间"),
                order_amount=_money(value(row, "订单金额（元）")),
                received=_money(value(row, "商家实收（元）")),
                out_request_no=value(row, "退款批次号/请求号"),
                fee=_money(value(row, "服务费（元）")),
            )
        )
    return rows


def read_bill(zip_bytes: bytes) -> list[BillRow]:
    """Every detail row of a trade-bill zip (the 汇总 summary file is not needed)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        raise BillFormatError("the bill download is not a zip file") from exc
    details = [info for info in archive.infolist() if _name(info).endswith(DETAIL_SUFFIX)]
    if not details:
        raise BillFormatError(
            f"no *{DETAIL_SUFFIX} in the bill zip: {[_name(i) for i in archive.infolist()]}"
        )
    rows = []
    for info in details:
        rows.extend(read_detail(archive.read(info)))
    return rows


def _name(info: zipfile.ZipInfo) -> str:
    """Alipay's zips name their files in GBK without the UTF-8 flag, which zipfile reads as
    cp437; a name that does not survive that round trip is taken as it was read."""
    try:
        return info.filename.encode("cp437").decode(ENCODING)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _cell(value: object) -> str:
    return f"{value}\t"


def _yuan(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def write_bill(account: str, day: date, rows: list[BillRow], exported_at: datetime) -> bytes:
    """A trade-bill zip as Alipay writes it: GBK, `#` header and footer, tab-padded values."""
    stamp = day.strftime("%Y%m%d")
    period = (
        f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   "
        f"终止日期：[{date.fromordinal(day.toordinal() + 1):%Y年%m月%d日} 00:00:00]"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("#支付宝业务明细查询\r\n")
    out.write(f"#账号：[{account}]\r\n")
    out.write(period + "\r\n")
    out.write(
        "#-----------------------------------------业务明细列表----------------------------------------\r\n"
    )
    writer.writerow(COLUMNS)
    for row in rows:
        cells = dict.fromkeys(COLUMNS, "")
        cells.update(
            {
                "支付宝交易号": row.trade_no,
                "商户订单号": row.out_trade_no,
                "业务类型": row.kind,
                "商品名称": row.subject,
                "创建时间": row.created,
                "完成时间": row.finished,
                "对方账户": "buy***@sandbox.com",
                "订单金额（元）": _yuan(row.order_amount),
                "商家实收（元）": _yuan(row.received),
                "支付宝红包（元）": "0.00",
                "集分宝（元）": "0.00",
                "支付宝优惠（元）": "0.00",
                "商家优惠（元）": "0.00",
                "券核销金额（元）": "0.00",
                "商家红包消费金额（元）": "0.00",
                "卡消费金额（元）": "0.00",
                "退款批次号/请求号": row.out_request_no,
                "服务费（元）": _yuan(row.fee),
                "分润（元）": "0.00",
            }
        )
        writer.writerow([_cell(cells[name]) for name in COLUMNS])
    trades = [r for r in rows if r.kind == TRADE]
    refunds = [r for r in rows if r.kind == REFUND]
    out.write(
        "#-----------------------------------------业务明细列表结束------------------------------------\r\n"
    )
    for label, group in (("交易", trades), ("退款", refunds)):
        received = _yuan(sum((r.received for r in group), Decimal(0)))
        out.write(f"#{label}合计：{len(group)}笔，商家实收：￥{received}元，商家优惠：￥0.00元\r\n")
    out.write(f"#导出时间：[{exported_at:%Y年%m月%d日 %H:%M:%S}]\r\n")
    summary = (
        "#支付宝业务汇总查询\r\n"
        f"#账号：[{account}]\r\n{period}\r\n"
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,服务费（元）\r\n"
        f"合计,,{len(trades)},{len(refunds)},"
        f"{_yuan(sum((r.order_amount for r in trades), Decimal(0)))},"
        f"{_yuan(sum((r.received for r in rows), Decimal(0)))},"
        f"{_yuan(sum((r.fee for r in rows), Decimal(0)))}\r\n"
        f"#导出时间：[{exported_at:%Y年%m月%d日 %H:%M:%S}]\r\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, text in ((DETAIL_SUFFIX, out.getvalue()), (SUMMARY_SUFFIX, summary)):
            # Alipay names them in GBK; Python's zipfile can only write UTF-8 names (flagged)
            info = zipfile.ZipInfo(f"{account}_{stamp}{suffix}")
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode(ENCODING))
    return buffer.getvalue()
