pytest_plugins = [
    "tests.fixtures.redis",
    "tests.fixtures.emulator",
    "tests.fixtures.fleet",
]
