"""The vouchers service."""
