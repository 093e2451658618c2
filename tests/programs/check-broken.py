#!/usr/bin/env python3
"""Runs `chairctl validate` on every broken program in tests/programs/bad/ (or, with a third argument
`configs`, `chaird --check-config` on every broken config in tests/config/bad/) and checks the exact
diagnostics.

Each file states what it expects in comment lines at its top:
    # expect: LINE:COL: error: MESSAGE      (one line per diagnostic, in order; @PATTERNS@: the pattern folder)
    # config: FILE                          (optional, relative to this folder: check against that chair)
The file name is prefixed as chairctl prints it. The exit status must be 1 when any error is expected,
0 when only warnings are. Prints TAP, one test per file.
"""
import os
import pathlib
import subprocess
import sys

chairctl, root = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
configs = len(sys.argv) > 3 and sys.argv[3] == "configs"
here = root / "tests" / ("config" if configs else "programs")
files = sorted((here / "bad").glob("*.yaml"))
print(f"1..{len(files)}")
failed = 0
for n, path in enumerate(files, 1):
    rel = path.relative_to(root)
    headers = [line[2:].decode("ascii", "replace") for line in path.read_bytes().split(b"\n")
               if line.startswith(b"# ")]
    expect = [h[len("expect: "):] for h in headers if h.startswith("expect: ")]
    config = [h[len("config: "):] for h in headers if h.startswith("config: ")]
    if configs:
        args = [chairctl, "--check-config"]
    else:
        args = [chairctl, "validate", "--patterns", str(root / "programs" / "patterns")]
    if config:
        args += ["--config", str(here / config[0])]
    args.append(str(rel))
    run = subprocess.run(args, cwd=root, capture_output=True, timeout=60)
    got = run.stderr.decode("utf-8", "replace").splitlines()
    # @PATTERNS@ stands for the pattern folder given to chairctl (an absolute path, this machine's).
    want = [f"{rel}:{e}".replace("@PATTERNS@", str(root / "programs" / "patterns")) for e in expect]
    want_rc = 1 if any(": error: " in e for e in expect) else 0
    ok = bool(expect) and got == want and run.returncode == want_rc
    print(f"{'ok' if ok else 'not ok'} {n} - {path.name}")
    if not ok:
        failed += 1
        if not expect:
            print("#   the file has no '# expect:' line")
        print(f"#   exit status {run.returncode}, expected {want_rc}")
        for line in want:
            print(f"#   want: {line}")
        for line in got:
            print(f"#   got:  {line}")
sys.exit(1 if failed else 0)
