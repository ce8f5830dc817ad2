"""Placeholder until the scheduling benchmark lands."""


def main() -> None:
    print("scheduling benchmark not implemented yet")


if __name__ == "__main__":
    main()
