"""User agents parsed into browser, OS, device type and a bot flag, with ua-parser's maintained rules."""

from functools import lru_cache

import msgspec
import ua_parser


class Agent(msgspec.Struct, frozen=True):
    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str
    is_bot: bool


@lru_cache(maxsize=8192)
def parse_agent(user_agent: str) -> Agent:
    """Real traffic repeats a few thousand agents, so results are cached."""
    if not user_agent:
        return Agent("", "", "", "", "unknown", True)
    result = ua_parser.parse(user_agent)
    browser, os, device = result.user_agent, result.os, result.device
    is_bot = device is not None and device.family == "Spider"
    return Agent(
        browser=browser.family if browser else "Other",
        browser_version=browser.major or "" if browser else "",
        os=os.family if os else "Other",
        os_version=".".join(p for p in (os.major, os.minor) if p) if os else "",
        device_type="bot" if is_bot else _device_type(user_agent, os.family if os else ""),
        is_bot=is_bot,
    )


def _device_type(user_agent: str, os: str) -> str:
    # The "Mobi" token is the browsers' own convention for phones; tablets say iPad, Tablet or omit Mobile on Android.
    if "iPad" in user_agent or "Tablet" in user_agent or (os == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if "Mobi" in user_agent or os in ("iOS", "Android"):
        return "mobile"
    return "desktop"
