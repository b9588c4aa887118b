"""`python -m emulator [options]`; see `python -m emulator --help`."""

from emulator.server import main

if __name__ == "__main__":
    main()
