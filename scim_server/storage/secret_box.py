"""Secrets we must be able to read back, sealed with a key that lives only in the environment.

Our own SCIM tokens are kept as hashes (``storage/tokens.py``), but an Auth0 SCIM token is a
credential we *present*, so it has to be decrypted. It is sealed with Fernet (AES-128-CBC and
HMAC-SHA256, from ``cryptography``): authenticated, so a tampered or foreign value is refused,
never silently misread. ``SCIM_SECRET_KEY`` holds one key, or several separated by commas to
rotate it: the first seals, all of them open (``MultiFernet``).
"""

from collections.abc import Sequence

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet

from scim_server.config import ConfigError
from scim_server.config import Settings

KEY_SETTING = "SCIM_SECRET_KEY"

GENERATE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
"""The command that prints a new key, quoted in every error about the key."""


class SecretBox:
    """Seals and opens secrets with the configured keys.

    :param keys: Fernet keys (32 url-safe base64 bytes), the sealing one first.
    :raises ConfigError: When there is no key or one is not a Fernet key.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError(f"{KEY_SETTING} holds no key; generate one with {GENERATE}")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ConfigError(
                f"{KEY_SETTING} is not a list of Fernet keys; generate one with {GENERATE}"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        """Build from ``SCIM_SECRET_KEY`` (comma-separated keys, the newest first).

        :raises ConfigError: When it is unset or holds a key that is not a Fernet key.
        """
        value = settings.secret_key.get_secret_value() if settings.secret_key else ""
        if not value.strip():
            raise ConfigError(
                f"{KEY_SETTING} is not set: mode relay keeps each organization's Auth0 SCIM "
                f"token encrypted with it; generate one with {GENERATE}"
            )
        return cls([key.strip() for key in value.split(",") if key.strip()])

    def seal(self, secret: str) -> str:
        """Return the secret encrypted and authenticated, as text for a column."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """Return the secret a sealed value holds.

        :raises ConfigError: When no configured key opens it (the key was changed or lost).
        """
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                f"No key of {KEY_SETTING} opens the stored Auth0 SCIM token: restore the key "
                "it was sealed with (keep it after the new one), or set the organization up again"
            ) from None
