"""An offline Alipay openapi gateway: cashier, signed responses, notifies with retries, faults."""
