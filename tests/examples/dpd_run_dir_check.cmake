# tests/examples/dpd_run_dir_check.cmake — run by tests/examples/extra.cmake with
#   -DDPD=<dpd> -DWORK_DIR=<fresh temp dir>
# `dpd --run-dir` (examples/dpd_common.hpp, RunStore) on Pendulum, 2 seeds, short runs:
#   1. a job split in two processes (--dpd single, then --dpd both on the same run-dir, which reuses
#      the single runs and runs the DPD pairs) reports the returns of one plain `dpd --dpd both`;
#   2. a run claimed by a live process (pid 1) is left to it: exit 0, "running in another process",
#      no report; a claim whose process is gone (a pid above pid_max) is taken over;
#      the report has the DPD pairs' diagnostics CSV;
#   3. a run-dir made with other flags is refused: one line "dpd: error: ...", exit status 1.
if(NOT EXISTS "${DPD}")
  message("SKIP: ${DPD} not built")
  return()
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_flags --env pendulum --steps 4096 --seeds 2 --raw-steps 0 --window 5)
function(run_dpd expect_rc)
  execute_process(COMMAND "${DPD}" ${_flags} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 300)
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "dpd ${ARGN}: exit status ${rc}, expected ${expect_rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
# the finals of one mode as a ;-list
function(finals json mode var)
  file(READ "${json}" _j)
  string(JSON _n LENGTH "${_j}" results ${mode} final_return values)
  set(_v "")
  math(EXPR _last "${_n} - 1")
  foreach(i RANGE ${_last})
    string(JSON _x GET "${_j}" results ${mode} final_return values ${i})
    list(APPEND _v "${_x}")
  endforeach()
  set(${var} "${_v}" PARENT_SCOPE)
endfunction()

set(_d "${WORK_DIR}/runs")
run_dpd(0 --dpd both --json "${WORK_DIR}/plain.json")
run_dpd(0 --dpd single --run-dir "${_d}")
foreach(_f single_s0.run single_s1.run config.json)
  if(NOT EXISTS "${_d}/${_f}")
    message(FATAL_ERROR "--dpd single --run-dir left no ${_d}/${_f}")
  endif()
endforeach()
run_dpd(0 --dpd both --run-dir "${_d}" --json "${WORK_DIR}/shared.json")
foreach(_m single dpd)
  finals("${WORK_DIR}/plain.json" ${_m} _a)
  finals("${WORK_DIR}/shared.json" ${_m} _b)
  if(NOT _a STREQUAL _b OR _a STREQUAL "")
    message(FATAL_ERROR "${_m}: split job finals [${_b}] != one process's [${_a}]")
  endif()
endforeach()

file(STRINGS "${WORK_DIR}/shared_diagnostics.csv" _diag LIMIT_COUNT 1)
if(NOT _diag STREQUAL "total steps,ess_over_batch,positive_fraction,loss_drop_per_step")
  message(FATAL_ERROR "no DPD diagnostics CSV (got '${_diag}')")
endif()

# 2. claims: a live owner (pid 1) keeps its run; a dead one (pid 99999999) loses it
set(_c "${WORK_DIR}/claims")
file(WRITE "${_c}/single_s1.claim" "1\n")
run_dpd(0 --dpd single --run-dir "${_c}" --json "${WORK_DIR}/claimed.json")
if(NOT out MATCHES "single seed 1: running in another process" OR EXISTS "${WORK_DIR}/claimed.json"
   OR NOT EXISTS "${_c}/single_s0.run" OR EXISTS "${_c}/single_s1.run")
  message(FATAL_ERROR "a run claimed by a live process was not left to it:\n${out}")
endif()
file(WRITE "${_c}/single_s1.claim" "99999999\n")
run_dpd(0 --dpd single --run-dir "${_c}" --json "${WORK_DIR}/claimed.json")
if(NOT EXISTS "${WORK_DIR}/claimed.json" OR NOT EXISTS "${_c}/single_s1.run"
   OR EXISTS "${_c}/single_s1.claim")
  message(FATAL_ERROR "a stale claim was not taken over:\n${out}")
endif()

# 3. other flags on the same run-dir
run_dpd(1 --dpd single --run-dir "${_d}" --alpha 2)
if(NOT err MATCHES "^dpd: error: [^\n]*holds runs made with other flags[^\n]*\n$")
  message(FATAL_ERROR "expected one line 'dpd: error: ... other flags', got:\n${err}")
endif()
message("dpd --run-dir: split job = one process; claims kept and taken over; other flags refused")
