"""Billing service package."""
