# tests/methods/extra.cmake — end-to-end smoke runs of the mini-BERT examples on the real text data
# (scripts/get-data.sh): ckd_glue --smoke (tokenizer, MLM pre-training, fine-tuning, the six
# methods, report, heat map) and then dynabert --smoke on its outputs (twice: the second run reuses
# the per-seed grids and only reports), with tiny models. Skipped
# (exit 77) when the data or the examples are not there.
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_ckd_glue AND TARGET example_dynabert)
  set(_smoke_out ${CMAKE_CURRENT_BINARY_DIR}/ckd_glue_smoke)
  add_test(NAME methods/ckd_glue_smoke
    COMMAND sh -c "test -f data/sentences/imdb.json && test -d data/brown && test -d data/fortunes || exit 77; \
rm -rf '${_smoke_out}' && \
'$<TARGET_FILE:example_ckd_glue>' --smoke --tasks sent --seeds 1 --student-epochs 2 --tune-ckd 1/10,100/1000 --out '${_smoke_out}' && \
grep -Eq '^sent,s4,ckd,1,([^,]*,){7}[01],(1/10|100/1000)$' '${_smoke_out}/runs.csv' && \
grep -Eq '^sent,s4,kd,1,([^,]*,){7}[01],$' '${_smoke_out}/runs.csv' && \
grep -q best_dev_epochs '${_smoke_out}/results.json' && \
grep -q paired_tests '${_smoke_out}/results.json' && \
grep -q '| sent | s4 | ckd | kd | .* | n < 2 |' '${_smoke_out}/results.md' && \
'$<TARGET_FILE:example_dynabert>' --smoke --tasks sent --seeds 1 --out '${_smoke_out}' && \
test -s '${_smoke_out}/sent/dynabert_grid_dynabert_ckd_s1.txt' && \
'$<TARGET_FILE:example_dynabert>' --smoke --tasks sent --seeds 1 --out '${_smoke_out}' | grep -c 'not retrained' | grep -qx 2 && \
test -s '${_smoke_out}/results.json' && test -s '${_smoke_out}/dynabert_sent.json' && \
grep -q '\"within_2se\": 12' '${_smoke_out}/dynabert_sent.json' && \
'$<TARGET_FILE:example_dynabert>' --smoke --tasks sent --seeds 2 --variants dynabert_ckd --lambda 0.1,10 --out '${_smoke_out}' && \
grep -q '^lambda \\(0.1\\|10\\) dev ' '${_smoke_out}/sent/dynabert_grid_dynabert_ckd_s2_lambda.txt' && \
test -s '${_smoke_out}/sent/dynabert_grid_dynabert_ckd_s2_l10.txt.dev' && \
grep -q dynabert_ckd_lambda_chosen_on_dev '${_smoke_out}/dynabert_sent.json' && \
test -s '${_smoke_out}/wr_heatmap.png'"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(methods/ckd_glue_smoke PROPERTIES
    LABELS "methods;slow" TIMEOUT ${DISTILLERY_TEST_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "OMP_WAIT_POLICY=passive")
endif()
