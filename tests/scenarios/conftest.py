from __future__ import annotations

import pytest
from tests.support.oauth2 import CoreDriver, World

DRIVERS = ["core", "flask"]


@pytest.fixture
def world(clock) -> World:
    return World(clock)


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, world: World):
    if request.param == "core":
        return CoreDriver(world)
    from tests.support.flask_driver import FlaskDriver

    return FlaskDriver(world)
