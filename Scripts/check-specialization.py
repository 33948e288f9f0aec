#!/usr/bin/env python3
"""Fails when unspecialised generic code runs on a hot path.

Runs a release `backprop` under callgrind (instruction counts: the same on
every run, unlike timings) on a few workloads and sums the instructions
spent in
  - protocol witness thunks (mangled names ending in `TW`) and dispatch
    thunks (`Tj`): what element arithmetic through `TensorElement` costs in
    unspecialised code;
  - Backprop kernels (`...Kernels`, `Gemm`) compiled generically, i.e. with
    no Float/Double specialisation marker (`Sf_T…`, `Sd_T…`).
Either share above its limit fails the check (exit 1). Usage:

    swift build -c release --product backprop
    python3 Scripts/check-specialization.py .build/release/backprop

Needs valgrind (Debian `valgrind`) and binutils' `strip`: valgrind 3.19
cannot read the DWARF 5 the Swift 6 toolchain writes, so the binary is
checked on a copy without debug information (its symbols stay).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

WORKLOADS = [
    ["train", "mlp", "--epochs", "2", "--threads", "1"],
    ["train", "logreg", "--samples", "8192", "--threads", "1"],
    ["bench", "S1", "--quick", "--threads", "1", "--repetitions", "1"],
    ["bench", "S3", "--quick", "--threads", "1", "--repetitions", "1"],
]
THUNK_LIMIT = 0.05        # of all instructions (data generation outside the kernels has some)
GENERIC_KERNEL_LIMIT = 0.01

SPECIALISED = re.compile(r"S[fd]_T")
KERNEL = re.compile(r"^\$s8Backprop.*(Kernels|Gemm|ScalarTape)")


def profile(binary, arguments, directory):
    out = os.path.join(directory, "callgrind.out")
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}", binary]
        + arguments, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", out],
        check=True, capture_output=True, text=True).stdout
    total, functions = 0, []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(\(\s*[\d.]+%\))?\s*(\S+)", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        name = m.group(3)
        if "PROGRAM" in line and "TOTALS" in line:
            total = count
            continue
        name = name.split(":", 1)[1] if ":" in name else name
        functions.append((count, name.split(" [")[0]))
    return total, functions


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    failed = False
    with tempfile.TemporaryDirectory() as directory:
        binary = os.path.join(directory, "backprop")
        shutil.copy(sys.argv[1], binary)
        subprocess.run(["strip", "--strip-debug", binary], check=True)
        for arguments in WORKLOADS:
            total, functions = profile(binary, arguments, directory)
            thunks = [(c, n) for c, n in functions if n.endswith("TW") or n.endswith("Tj")]
            generic = [(c, n) for c, n in functions if KERNEL.match(n) and not SPECIALISED.search(n)]
            thunk_share = sum(c for c, _ in thunks) / total
            generic_share = sum(c for c, _ in generic) / total
            ok = thunk_share <= THUNK_LIMIT and generic_share <= GENERIC_KERNEL_LIMIT
            failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} backprop {' '.join(arguments)}: "
                  f"witness/dispatch thunks {thunk_share:.2%} (limit {THUNK_LIMIT:.0%}), "
                  f"unspecialised kernels {generic_share:.2%} (limit {GENERIC_KERNEL_LIMIT:.0%}) "
                  f"of {total:,} instructions")
            if not ok:
                for c, n in sorted(thunks + generic, reverse=True)[:8]:
                    print(f"      {c / total:6.2%}  {n[:150]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
