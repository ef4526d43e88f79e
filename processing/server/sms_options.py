"""The SMS gateway options ``serve`` and ``jobs run`` share, and their one-sentence checks.

Both commands send texts (codes; expiry notices) through the same gateways, so they take the
same ``--sms-webhook URL`` and ``--sms-provider FILE`` and refuse the same mistakes with the
same sentences: two gateways at once, a webhook that is not http(s), a provider file that does
not parse.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def sms_options(what: str) -> Callable[[F], F]:
    """``--sms-webhook`` and ``--sms-provider`` for a command that sends ``what``."""

    def add(command: F) -> F:
        command = click.option(
            "--sms-provider",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            metavar="FILE",
            help=f"send {what} straight to an HTTP SMS provider as this TOML file says (URL,"
            " method, auth, body template, timeouts, retries: see"
            " processing/server/sms_provider.py)",
        )(command)
        return click.option(
            "--sms-webhook",
            default=None,
            metavar="URL",
            help=f"send {what} as POST URL {{phone, text}} (JSON) to your SMS provider's adapter",
        )(command)

    return add


def sms_spec(webhook: str | None, demo: bool, provider: Path | None) -> str | None:
    """The gateway the options name, as :func:`processing.server.sms.gateway_for` takes it
    (None: none was named); a provider file is read here, so a bad one stops the command with
    its one sentence before anything is done."""
    from processing.server.sms import DEMO_SPEC, PROVIDER_SPEC
    from processing.server.sms_provider import ProviderError, load

    if (webhook is not None) + demo + (provider is not None) > 1:
        raise click.ClickException("Give one of --sms-webhook, --sms-provider or --demo.")
    if demo:
        return DEMO_SPEC
    if provider is not None:
        try:
            load(provider)
        except ProviderError as exc:
            raise click.ClickException(f"--sms-provider {provider}: {exc}") from None
        return PROVIDER_SPEC + str(provider.resolve())
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise click.ClickException(f"--sms-webhook: {webhook!r} is not an http(s) URL.")
    return webhook
