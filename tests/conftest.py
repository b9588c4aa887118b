pytest_plugins = [
    "tests.fixtures.redis",
    "tests.fixtures.emulator",
    "tests.fixtures.fleet",
    "tests.fixtures.s3",
    "tests.fixtures.flower",
]
