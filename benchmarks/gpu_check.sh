#!/usr/bin/env bash
# The one-shot GPU check (docs/cuda.md, "The one-shot GPU check"): benchmarks/gpu_check.py from the repository root,
# with the repository importable, under a hard limit that ends it inside the device tool's 10 minutes.
# Options go through to gpu_check.py (python3 benchmarks/gpu_check.py --help).
# On the device machine (the device tool sets $OUT) the results and the log go to $OUT, the training run to /tmp, and
# the wheels in .whl/ (packages that machine lacks, see docs/cuda.md) are installed first.
set -o pipefail
cd "$(dirname "$0")/.." || exit 2
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -d .whl ] && ! "$python" -c "import gymnasium, stable_baselines3, adam_atan2_pytorch" 2>/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 2
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
log=/dev/null
if [ -n "${OUT:-}" ]; then
    set -- --out "$OUT" --run-dir "$(mktemp -d /tmp/gpu_check_run.XXXXXX)" "$@"
    log="$OUT/gpu_check.log"
fi
timeout --kill-after=10 580 "$python" benchmarks/gpu_check.py "$@" 2>&1 | tee "$log"
