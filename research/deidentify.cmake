# Pseudonyms and minimisation of released resources (included from
# research/CMakeLists.txt).
set(TILLIT_RESEARCH_DEIDENTIFY_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deidentify.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/pseudonymiser.cc
)
set(TILLIT_RESEARCH_DEIDENTIFY_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deidentify_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deidentify_fixtures_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/pseudonymiser_test.cc
)
