"""Synthetic inputs in the exact source formats, for the tests, the benchmarks and
``sample_data/``: never part of the installed product. ``sample`` (the bundled sample),
``formats`` (the police's and ČSÚ's file formats), ``national`` (a country-sized input)."""
