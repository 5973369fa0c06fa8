import sys

from ..commands.live import main

if __name__ == "__main__":
    sys.exit(main())
