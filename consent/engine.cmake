# The pure consent engine: model, grant JSON, FHIR Consent, decisions.
# Included by consent/CMakeLists.txt.
set(TILLIT_CONSENT_ENGINE_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/epsilon.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy_text.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy_json_read.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy_json_write.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/engine.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/proxy.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_consent_read.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_consent_write.cc
)
set(TILLIT_CONSENT_ENGINE_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/epsilon_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/policy_json_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/engine_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/proxy_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/duo_matching_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/oracle_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/fhir_consent_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/privacy_budget_test.cc
)
