"""Disclosure control: the policy, and the functions that apply and audit it."""
