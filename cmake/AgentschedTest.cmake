# agentsched_add_layer_test(<layer> <libs...>): one GoogleTest binary per layer from
# tests/<layer>/*.cc, registered with CTest.

# Every file a test reads lives in the repository, under tests/fixtures/ (or beside the test);
# tests/repo/standalone_test.cc fails if this ever points outside the source tree.
set(AGENTSCHED_FIXTURES_DIR ${PROJECT_SOURCE_DIR}/tests/fixtures)

function(agentsched_add_layer_test layer)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${layer}/*.cc)
  add_executable(test_${layer} ${sources})
  target_link_libraries(test_${layer} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main)
  target_include_directories(test_${layer} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(test_${layer} PRIVATE
    AGENTSCHED_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    AGENTSCHED_FIXTURES_DIR="${AGENTSCHED_FIXTURES_DIR}"
    AGENTSCHED_BINARY="$<TARGET_FILE:agentsched>")
  # LABELS: the layer, so a run can pick layers (ctest -L, as scripts/sanitize.sh thread does).
  gtest_discover_tests(test_${layer} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS ${layer})
endfunction()
