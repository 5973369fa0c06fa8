import sys

from ..commands.archive import main

if __name__ == "__main__":
    sys.exit(main())
