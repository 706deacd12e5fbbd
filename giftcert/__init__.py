"""giftcert: tokenized gift certificates. The SDK that the CLI, web app, scripts and tests use."""

__version__ = "0.1.0"
