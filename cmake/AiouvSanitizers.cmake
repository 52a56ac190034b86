# aiouv_enable_sanitizers(<target>): applies AIOUV_SANITIZE to one target.
# Per target, never directory-wide, so that consumers are untouched.
function(aiouv_enable_sanitizers target)
  if(NOT AIOUV_SANITIZE)
    return()
  endif()
  set(flags -fsanitize=${AIOUV_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND AIOUV_SANITIZE MATCHES "undefined")
    # clang 14's -fsanitize=function (part of "undefined") emits prologue
    # data that the coroutine splitter moves apart: "Cannot represent a
    # difference across sections". It only checks calls through mismatched
    # function pointer types, which the rest of UBSan does not need.
    list(APPEND flags -fno-sanitize=function)
  endif()
  target_compile_options(${target} PRIVATE ${flags})
  target_link_options(${target} PRIVATE ${flags})
  target_compile_definitions(${target} PRIVATE AIOUV_SANITIZED)
  if(AIOUV_SANITIZE MATCHES "address")
    # Recycled frames would hide use-after-free from ASan.
    target_compile_definitions(${target} PRIVATE AIOUV_DISABLE_FRAME_POOL)
  endif()
endfunction()
