# Included by every integration test folder (subfolders are added in
# alphabetical order, so the function cannot live in support/CMakeLists.txt).
include_guard(GLOBAL)

# kcanary_integration_test(<name> <sources...>): one test binary whose tests are
# registered with ctest as it.<Suite>.<Test>, each with a timeout of TIMEOUT
# seconds (default 90).
function(kcanary_integration_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 90)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE kcanary::it_support GTest::gtest_main
                                        nlohmann_json::nlohmann_json)
  gtest_discover_tests(${name} TEST_PREFIX "it." DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS integration)
endfunction()
