"""The storefront's static files, installed as the package `order_service.web`.

A package only so that they ship in the wheel and the order service finds them with
importlib.resources; this docstring is its only code.
"""
