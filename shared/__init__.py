"""Code shared by the order service, the payment service and the Alipay emulator."""
