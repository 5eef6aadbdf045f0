"""The real SMTP server fixture, shared with the pipeline tests."""

from tests.integration.pipeline.conftest import smtp  # noqa: F401
