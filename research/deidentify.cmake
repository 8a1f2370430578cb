# Pseudonyms and minimisation of released resources (included from
# research/CMakeLists.txt).
set(TILLIT_RESEARCH_DEIDENTIFY_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deidentify.cc
)
set(TILLIT_RESEARCH_DEIDENTIFY_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deidentify_test.cc
)
