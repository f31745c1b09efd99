"""A runnable VK API + VK ID emulator for development and tests (`manage.py vk_emulator`).

It serves docs/messenger-protocol.md over real HTTP, keeps the messenger's state in memory (or
a JSON file) and injects faults on request. It needs no Django: tests start it in a thread.
"""

from vk_sync.emulator.faults import ALL_KINDS, FAULT_KINDS, FaultSettings, FaultSettingsError
from vk_sync.emulator.server import EmulatorApp, EmulatorServer, make_server
from vk_sync.emulator.state import ApiError, MessengerState, StateFileError
from vk_sync.emulator.vkid import VkIdProvider, hinted_vk_user_id, s256

__all__ = [
    "ALL_KINDS",
    "FAULT_KINDS",
    "ApiError",
    "EmulatorApp",
    "EmulatorServer",
    "FaultSettings",
    "FaultSettingsError",
    "MessengerState",
    "StateFileError",
    "VkIdProvider",
    "hinted_vk_user_id",
    "make_server",
    "s256",
]
