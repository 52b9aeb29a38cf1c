"""Alipay openapi client (RSA2/RSA signed requests, verified responses and callbacks)."""

from payment_service.alipay.client import AlipayClient, AlipayConfig
from payment_service.alipay.errors import (
    AlipayBusinessError,
    AlipayCertificateMismatch,
    AlipayConfigurationError,
    AlipayError,
    AlipayGatewayError,
    AlipaySystemError,
    InvalidSignature,
    SellerBalanceNotEnough,
    TradeNotExist,
    TradeStatusError,
)

__all__ = [
    "AlipayBusinessError",
    "AlipayCertificateMismatch",
    "AlipayConfigurationError",
    "AlipayClient",
    "AlipayConfig",
    "AlipayError",
    "AlipayGatewayError",
    "AlipaySystemError",
    "InvalidSignature",
    "SellerBalanceNotEnough",
    "TradeNotExist",
    "TradeStatusError",
]
