# The sealed release file format (included from research/CMakeLists.txt).
set(TILLIT_RESEARCH_SEALED_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sealed.cc
)
set(TILLIT_RESEARCH_SEALED_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sealed_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sealed_env_test.cc
)
