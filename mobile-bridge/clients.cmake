# Clients of libtillit_bridge that prove its C ABI end to end (SPEC §10):
#   - tillit_app: the reference citizen app, plain C11 over tillit_bridge.h;
#   - bridge_c_app: CTest running tillit_app against a real `tillit serve`;
#   - bridge_python_ffi: CTest loading the library with Python's ctypes, as
#     Dart FFI or JNA would, against a real `tillit serve`.
# Included by mobile-bridge/CMakeLists.txt after target tillit_bridge.

add_executable(tillit_app ${CMAKE_CURRENT_LIST_DIR}/examples/tillit_app.c)
set_target_properties(tillit_app PROPERTIES
  OUTPUT_NAME tillit-app
  C_STANDARD 11
  C_STANDARD_REQUIRED ON
  C_EXTENSIONS OFF)
# -Wall -Wextra (and -Werror under TILLIT_WERROR) come from the top level.
target_compile_options(tillit_app PRIVATE -pedantic)
target_link_libraries(tillit_app PRIVATE tillit_bridge)

if(NOT TILLIT_BUILD_TESTS)
  return()
endif()

find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME bridge_c_app
  COMMAND ${Python3_EXECUTABLE}
          ${PROJECT_SOURCE_DIR}/tests/bridge_c_app_test.py
          --app $<TARGET_FILE:tillit_app>
          --tillit $<TARGET_FILE:tillit>)
# tillit_app and tillit are instrumented executables of their own under
# TILLIT_SANITIZE; the Python harness only starts them, so this test needs
# no preloading.
set_tests_properties(bridge_c_app PROPERTIES TIMEOUT 300)

add_test(NAME bridge_python_ffi
  COMMAND ${Python3_EXECUTABLE}
          ${PROJECT_SOURCE_DIR}/tests/bridge_ffi_test.py
          --lib $<TARGET_FILE:tillit_bridge>
          --tillit $<TARGET_FILE:tillit>)
set_tests_properties(bridge_python_ffi PROPERTIES TIMEOUT 300)

if(TILLIT_SANITIZE)
  # The instrumented library is dlopen()ed into an uninstrumented Python, so
  # the sanitizer runtimes must be loaded first (ASan refuses to start
  # otherwise). Python's own allocations are never freed at exit, so leak
  # detection is off for that process; bridge_test_server.child_env() drops
  # both settings again for the instrumented `tillit` children, which keep
  # their leak checks.
  set(_tillit_sanitizer_runtimes "")
  foreach(_runtime libasan.so libubsan.so)
    execute_process(
      COMMAND ${CMAKE_C_COMPILER} -print-file-name=${_runtime}
      OUTPUT_VARIABLE _path
      OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _rc)
    if(_rc EQUAL 0 AND IS_ABSOLUTE "${_path}" AND EXISTS "${_path}")
      list(APPEND _tillit_sanitizer_runtimes "${_path}")
    endif()
  endforeach()
  list(LENGTH _tillit_sanitizer_runtimes _found)
  if(_found EQUAL 2)
    list(JOIN _tillit_sanitizer_runtimes ":" _preload)
    set_tests_properties(bridge_python_ffi PROPERTIES ENVIRONMENT
      "LD_PRELOAD=${_preload};ASAN_OPTIONS=detect_leaks=0;TILLIT_BRIDGE_TEST_PRELOADED=1")
  else()
    # Another compiler (clang names its runtimes differently): without the
    # runtimes preloaded the instrumented library cannot load into Python.
    message(STATUS "tillit: ${CMAKE_C_COMPILER} names no libasan.so and "
                   "libubsan.so; bridge_python_ffi is disabled under "
                   "TILLIT_SANITIZE")
    set_tests_properties(bridge_python_ffi PROPERTIES DISABLED TRUE)
  endif()
endif()
