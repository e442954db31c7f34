"""opencrime business logic: pure, typed functions from data to data, importable without Airflow."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("opencrime")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
