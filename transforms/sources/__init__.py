"""Source loaders: each turns one provider's raw bytes into the project's canonical tables.

A loader for another country sits beside the Czech ones and implements the same small interface
(``transforms.sources.base``).
"""
