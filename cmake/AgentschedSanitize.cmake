# Instrumented builds, included before the layers so every library and test is compiled alike.
#
# AGENTSCHED_SANITIZE=address: AddressSanitizer + UndefinedBehaviorSanitizer, any UB report is
#   fatal (scripts/sanitize.sh address, build-asan/).
# AGENTSCHED_SANITIZE=thread: ThreadSanitizer (scripts/sanitize.sh thread, build-tsan/).
# AGENTSCHED_FUZZ=ON: libFuzzer targets of fuzz/ with ASan + UBSan; needs clang
#   (scripts/fuzz.sh, build-fuzz/).
set(AGENTSCHED_SANITIZE "" CACHE STRING "Sanitizer build: address (ASan+UBSan) or thread (TSan)")
set_property(CACHE AGENTSCHED_SANITIZE PROPERTY STRINGS "" address thread)
option(AGENTSCHED_FUZZ "Build the libFuzzer targets of fuzz/ (clang)" OFF)

set(_agentsched_sanitize_flags "")
if(AGENTSCHED_SANITIZE STREQUAL "address")
  list(APPEND _agentsched_sanitize_flags -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  # GCC leaves this check out of -fsanitize=undefined (clang includes it): a double too large
  # for the integer it is converted to.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND _agentsched_sanitize_flags -fsanitize=float-cast-overflow)
  endif()
elseif(AGENTSCHED_SANITIZE STREQUAL "thread")
  list(APPEND _agentsched_sanitize_flags -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT AGENTSCHED_SANITIZE STREQUAL "")
  message(FATAL_ERROR "AGENTSCHED_SANITIZE must be address or thread, not '${AGENTSCHED_SANITIZE}'")
endif()

if(AGENTSCHED_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "AGENTSCHED_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh does)")
  endif()
  if(NOT AGENTSCHED_SANITIZE STREQUAL "")
    message(FATAL_ERROR "AGENTSCHED_FUZZ already builds with ASan+UBSan; leave AGENTSCHED_SANITIZE empty")
  endif()
  # Coverage instrumentation everywhere; the fuzz executables add -fsanitize=fuzzer (main).
  list(APPEND _agentsched_sanitize_flags -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()

# clang 14's -fsanitize=function (part of undefined) cannot compile C++20 coroutines (the
# Asio servers): "Cannot represent a difference across sections".
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND (AGENTSCHED_FUZZ OR AGENTSCHED_SANITIZE STREQUAL "address"))
  list(APPEND _agentsched_sanitize_flags -fno-sanitize=function)
endif()

if(_agentsched_sanitize_flags)
  add_compile_options(${_agentsched_sanitize_flags})
  add_link_options(${_agentsched_sanitize_flags})
endif()
