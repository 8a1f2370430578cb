# Merkle tree, proofs and signed checkpoints of the audit log (included from
# audit/CMakeLists.txt).
set(TILLIT_AUDIT_MERKLE_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/merkle.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/checkpoint.cc
)
set(TILLIT_AUDIT_MERKLE_TESTS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/merkle_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/checkpoint_test.cc
)
