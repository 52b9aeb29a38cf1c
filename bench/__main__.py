"""`python -m bench`: every benchmark in turn (today: Alipay signing)."""

from bench import signing

if __name__ == "__main__":
    signing.main()
