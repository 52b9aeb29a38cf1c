"""Request and response bodies of the public API."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from order_service.domain.states import PayMethod
from shared.events import MAX_EVENTS_PER_BATCH, PaidEvent
from shared.money import Money

MAX_COUNT = 9999  # per line; larger counts are refused as malformed, never reach the database
MAX_DB_ID = 2**31 - 1
# Single-line text: no control characters (PostgreSQL refuses NUL in text; the rest is junk).
SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"


class Strict(BaseModel):
    """Request bodies: unknown fields and type coercions ("5" for 5, 1.0, true) are refused."""

    model_config = ConfigDict(extra="forbid")


class RegisterBody(Strict):
    username: StrictStr = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@+-]+$")
    password: StrictStr = Field(min_length=8, max_length=128)


class TokenForm(BaseModel):
    """The OAuth2 password flow's form, bounded like registration so NUL never reaches the db."""

    grant_type: str | None = Field(None, pattern=r"^password$")
    username: str = Field(min_length=1, max_length=64, pattern=SINGLE_LINE)
    password: str = Field(min_length=1, max_length=128)


class UserOut(BaseModel):
    id: int
    username: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class SkuOut(BaseModel):
    id: int
    name: str
    price: Money
    stock: int
    sales: int


class SkuPage(BaseModel):
    items: list[SkuOut]
    total: int


class GoodsOut(BaseModel):
    id: int
    name: str
    description: str | None
    image_url: str | None
    min_price: Money
    sales: int
    skus: list[SkuOut]


class GoodsPage(BaseModel):
    items: list[GoodsOut]
    total: int


class AddressBody(Strict):
    receiver: StrictStr = Field(min_length=1, max_length=50, pattern=SINGLE_LINE)
    # max_length: the column is varchar(20), and the pattern alone allows 21 characters
    mobile: StrictStr = Field(max_length=20, pattern=r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
    province: StrictStr = Field(min_length=1, max_length=50, pattern=SINGLE_LINE)
    city: StrictStr = Field(min_length=1, max_length=50, pattern=SINGLE_LINE)
    district: StrictStr = Field(min_length=1, max_length=50, pattern=SINGLE_LINE)
    place: StrictStr = Field(min_length=1, max_length=200, pattern=SINGLE_LINE)


class AddressOut(BaseModel):
    id: int
    receiver: str
    mobile: str
    province: str
    city: str
    district: str
    place: str


class AddressList(BaseModel):
    items: list[AddressOut]


class CartItemBody(Strict):
    count: StrictInt = Field(ge=1, le=MAX_COUNT)
    selected: StrictBool = True


class CartItemOut(BaseModel):
    sku_id: int
    name: str
    price: Money
    count: int
    selected: bool


class CartOut(BaseModel):
    items: list[CartItemOut]
    # Added to every order (ORDER_FREIGHT): the storefront shows the full amount before checkout.
    freight: Money


class OrderItemBody(Strict):
    sku_id: StrictInt = Field(gt=0, le=MAX_DB_ID)
    count: StrictInt = Field(ge=1, le=MAX_COUNT)


class OrderBody(Strict):
    address_id: StrictInt = Field(gt=0, le=MAX_DB_ID)
    pay_method: PayMethod
    items: list[OrderItemBody] | None = Field(None, min_length=1, max_length=100)


class OrderItemOut(BaseModel):
    sku_id: int
    name: str
    count: int
    price: Money


class ShipmentOut(BaseModel):
    carrier: str
    tracking_no: str
    shipped_at: datetime


class RefundOut(BaseModel):
    refund_id: str
    amount: Money
    reason: str
    status: Literal["pending", "succeeded", "failed"]
    error: str | None = None
    created_at: datetime


class RefundList(BaseModel):
    items: list[RefundOut]


class OrderOut(BaseModel):
    order_id: str
    status: str
    pay_method: str
    address_id: int
    total_count: int
    freight: Money
    total_amount: Money
    items: list[OrderItemOut]
    created_at: datetime
    pay_deadline: datetime | None
    paid_at: datetime | None
    canceled_at: datetime | None
    cancel_reason: str | None
    refunded_amount: Money
    shipment: ShipmentOut | None
    received_at: datetime | None
    refunds: list[RefundOut]


class OrderList(BaseModel):
    items: list[OrderOut]
    total: int


class AdminOrderOut(OrderOut):
    user_id: int
    username: str | None
    address: AddressOut | None


class AdminOrderList(BaseModel):
    items: list[AdminOrderOut]
    total: int


class ShipBody(Strict):
    carrier: StrictStr = Field(min_length=1, max_length=50, pattern=SINGLE_LINE)
    tracking_no: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


class CommentItemBody(Strict):
    sku_id: StrictInt = Field(gt=0, le=MAX_DB_ID)
    score: StrictInt = Field(ge=1, le=5)
    comment: StrictStr = Field("", max_length=1000)


class CommentsBody(Strict):
    items: list[CommentItemBody] = Field(min_length=1, max_length=100)


class RefundBody(Strict):
    amount: Annotated[Money, Field(ge=Decimal("0.01"), le=Decimal("100000000"))]
    reason: StrictStr = Field(min_length=1, max_length=256, pattern=SINGLE_LINE)


class SkuCreateBody(Strict):
    name: StrictStr = Field(min_length=1, max_length=100, pattern=SINGLE_LINE)
    price: Annotated[Money, Field(ge=Decimal("0"), le=Decimal("99999999.99"))]
    stock: StrictInt = Field(ge=0, le=MAX_DB_ID)
    goods: StrictStr | None = Field(None, min_length=1, max_length=100, pattern=SINGLE_LINE)


class SkuPatchBody(Strict):
    name: StrictStr | None = Field(None, min_length=1, max_length=100, pattern=SINGLE_LINE)
    price: Annotated[Money, Field(ge=Decimal("0"), le=Decimal("99999999.99"))] | None = None
    stock_delta: StrictInt | None = Field(None, ge=-MAX_DB_ID, le=MAX_DB_ID)


class PaymentBody(Strict):
    channel: Literal["page", "wap"] = "page"


class PaymentLinkOut(BaseModel):
    pay_url: str


class PaymentEventOut(BaseModel):
    result: Literal["applied", "already_applied"]


class PaymentEventsIn(BaseModel):
    events: list[PaidEvent] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class PaymentEventResult(BaseModel):
    event_id: str
    order_id: str
    result: Literal["applied", "already_applied", "refused"]
    code: str | None = None  # why it was refused: order_canceled, amount_mismatch, …
    detail: str | None = None


class PaymentEventsOut(BaseModel):
    results: list[PaymentEventResult]


class RefundEventOut(BaseModel):
    result: Literal["applied"]
