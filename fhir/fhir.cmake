# FHIR parsing, classification and the synthetic generator (included by
# fhir/CMakeLists.txt).
set(TILLIT_FHIR_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_classify.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_datetime.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_json_walker.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_members.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sensitive_codes.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/search.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/synthetic.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/synthetic_resources.cc
)

set(TILLIT_FHIR_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_validation_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_datetime_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_document_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_fixtures_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_sensitive_codes_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/search_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/synthetic_test.cc
)

# The sensitive-code test compares the C++ table with the documentation.
# (The test target is created after this file is included, so the path is a
# source-file property; the test falls back to __FILE__ without it.)
set_source_files_properties(
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_sensitive_codes_test.cc
  PROPERTIES COMPILE_DEFINITIONS
    "TILLIT_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
