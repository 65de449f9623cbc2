"""Stateful mock of the nRF Cloud, u-blox, iotcomms.io and NAO Cloud APIs used by the collection's tests."""
