"""Data-sharing contracts: finer figures for a self-government's own territory, at a tier the
disclosure policy defines, delivered to it alone (``docs/disclosure-policy.md``, "Contract
tiers")."""
