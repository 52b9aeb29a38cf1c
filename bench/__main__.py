"""`python -m bench`: every benchmark in turn with its defaults;
`python -m bench NAME [flags]`: one of them (NAME is signing, checkout, payment or expiry), flags
passed on."""

import sys

from bench import checkout, expiry, payment, signing

BENCHMARKS = {
    "signing": signing.main,
    "checkout": checkout.main,
    "payment": payment.main,
    "expiry": expiry.main,
}

if __name__ == "__main__":
    if len(sys.argv) > 1:
        name = sys.argv[1]
        if name not in BENCHMARKS:
            sys.exit(f"usage: python -m bench [{'|'.join(BENCHMARKS)} [flags]]")
        sys.argv = [f"python -m bench {name}", *sys.argv[2:]]
        BENCHMARKS[name]()
    else:
        for run in BENCHMARKS.values():
            sys.argv = sys.argv[:1]
            run()
