#!/usr/bin/env bash
# One prepared call on a GPU machine: what is installed, the device tests, the GPU benchmark.
#
#   bash benchmarks/gpu_device_check.sh                 # everything, logs under $OUT (or /tmp/gpu_check)
#   TESTS="tests/test_gpu.py::test_x" PARTS="toy" bash benchmarks/gpu_device_check.sh   # a rerun
#
# Environment: OUT (log folder), PYTHON (default python3), TEST_S / BENCH_S (time limits of the two
# stages in seconds, default 270 / 270), WORKERS (pytest-xdist workers, default 8), TESTS (pytest
# arguments, default the gpu-marked tests; "none" skips them), PARTS (parts of benchmarks/gpu.py,
# default all; "none" skips it), BENCH_ARGS (more arguments for it, e.g. --quick), STUDY=1 (also
# run the finite-N p-spin study of examples/pspin_ck_vs_finite_n.py on the GPU, N = 64 ... 2048 with
# 8 8 4 4 4 4 disorder samples, STUDY_S seconds at most, default 300; its figure, log and a tarball
# of its run cache come back under $OUT).
# The package runs from this checkout (PYTHONPATH), on the machine's own NumPy, SciPy, Numba and
# CuPy; both stages always run, so one call brings back every result it could get.
set -u -o pipefail
OUT=${OUT:-/tmp/gpu_check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  $PY - <<'PYEOF'
import platform, cupy, numba, numpy, scipy
print("python", platform.python_version(), "numpy", numpy.__version__, "scipy", scipy.__version__,
      "numba", numba.__version__, "cupy", cupy.__version__,
      "cuda runtime", cupy.cuda.runtime.runtimeGetVersion(), "driver", cupy.cuda.runtime.driverGetVersion(),
      "nvrtc", cupy.cuda.nvrtc.getVersion())
PYEOF
} 2>&1 | tee "$OUT/env.txt"

if [ "${TESTS:-}" != "none" ]; then
  start=$SECONDS
  # -v: each result is logged as it finishes, so a run cut short still says what passed.
  timeout "${TEST_S:-270}" $PY -m pytest ${TESTS:-tests/test_gpu.py tests/test_cuda_source_on_cpu.py::test_cuda_source_compiles_for_the_gpu} \
      -v -n "${WORKERS:-8}" --maxfail=12 --hypothesis-profile=no-shrink -p no:cacheprovider \
      --durations=12 2>&1 | tee "$OUT/pytest.log" | grep -Ev "PASSED|SKIPPED|PytestBenchmarkWarning|warner\(" | tail -80
  echo "[check] pytest rc=$? in $((SECONDS - start)) s" | tee -a "$OUT/pytest.log"
fi

if [ "${PARTS:-}" != "none" ]; then
  start=$SECONDS
  timeout "${BENCH_S:-270}" $PY benchmarks/gpu.py --markdown "$OUT/gpu_tables.md" \
      --parts ${PARTS:-pspin largest toy} ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log" | grep -v '^|'
  echo "[check] gpu.py rc=$? in $((SECONDS - start)) s" | tee -a "$OUT/bench.log"
  cat "$OUT/gpu_tables.md" 2>/dev/null
fi

if [ "${STUDY:-0}" = "1" ]; then
  start=$SECONDS
  timeout "${STUDY_S:-300}" $PY examples/pspin_ck_vs_finite_n.py --backend cupy \
      --sizes 64 128 256 512 1024 2048 --samples 8 8 4 4 4 4 --cache "$OUT/study_runs" --out "$OUT" \
      2>&1 | tee "$OUT/study.log" | tail -40
  echo "[check] finite-N study rc=$? in $((SECONDS - start)) s" | tee -a "$OUT/study.log"
  tar -C "$OUT" -czf "$OUT/study_runs.tgz" study_runs && rm -rf "$OUT/study_runs"
fi
