"""Discord through discord.py: a bot that reads the messages of the channels and DMs it can
see (the Message Content intent must be on for the bot) and answers in the same channel.
discord.py reconnects and resumes by itself; its connect and disconnect events keep the
supervisor's state current, and a failed login (a wrong token) returns to the supervisor,
which retries with backoff."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from mcp_server.bridge.core import Incoming
from mcp_server.bridge.settings import DiscordSettings

log = logging.getLogger("brainrouter.bridge")


class DiscordTokenMissing(RuntimeError):
    pass


class DiscordTransport:
    platform = "discord"

    def __init__(self, settings: DiscordSettings) -> None:
        self.settings = settings
        self.limit = settings.chunk_chars
        # What the supervisor hears of the connection (discord.py reconnects on its own).
        self.on_connected: Callable[[], None] = lambda: None
        self.on_disconnected: Callable[[], None] = lambda: None
        self._client: discord.Client | None = None

    def token(self) -> str | None:
        return os.environ.get(self.settings.token_env) or None

    def _client_for(self, deliver: Callable[[Incoming], Awaitable[None]]) -> discord.Client:
        # discord.py reads both endpoints from class attributes; one bot per daemon.
        Route.BASE = self.settings.api_base.rstrip("/")
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)
        intents = discord.Intents.default()
        intents.message_content = True
        client = discord.Client(intents=intents)

        @client.event
        async def on_ready() -> None:
            log.info("bridge: connected to Discord as %s", client.user)
            self.on_connected()

        @client.event
        async def on_resumed() -> None:
            self.on_connected()

        @client.event
        async def on_disconnect() -> None:
            self.on_disconnected()

        @client.event
        async def on_message(message: discord.Message) -> None:
            if message.author.bot or (client.user and message.author.id == client.user.id):
                return  # its own replies, and other bots
            guild = (
                message.guild.id if message.guild else getattr(message.channel, "guild_id", None)
            )
            await deliver(
                Incoming(
                    "discord",
                    str(message.channel.id),
                    str(message.author.id),
                    message.content,
                    guild=str(guild) if guild else None,
                )
            )

        return client

    async def serve(self, deliver: Callable[[Incoming], Awaitable[None]]) -> None:
        token = self.token()
        if not token:
            raise DiscordTokenMissing(f"set the bot token in ${self.settings.token_env}")
        client = self._client = self._client_for(deliver)
        try:
            await client.start(token, reconnect=True)
        finally:
            self._client = None
            if not client.is_closed():
                await client.close()

    def _channel(self, conversation: str) -> discord.PartialMessageable:
        if self._client is None:
            raise RuntimeError("not connected to Discord")
        return self._client.get_partial_messageable(int(conversation))

    async def send(self, conversation: str, text: str) -> None:
        # No mentions from an agent's answer: "@everyone" in code must not ping a server.
        await self._channel(conversation).send(
            text, allowed_mentions=discord.AllowedMentions.none()
        )

    async def typing(self, conversation: str) -> None:
        await self._channel(conversation).typing()

    async def aclose(self) -> None:
        if self._client is not None and not self._client.is_closed():
            await self._client.close()
