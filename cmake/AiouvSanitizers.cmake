# aiouv_enable_sanitizers(<target>): applies AIOUV_SANITIZE to one target.
# Per target, never directory-wide, so that consumers are untouched.
function(aiouv_enable_sanitizers target)
  if(NOT AIOUV_SANITIZE)
    return()
  endif()
  set(flags -fsanitize=${AIOUV_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(${target} PRIVATE ${flags})
  target_link_options(${target} PRIVATE ${flags})
  target_compile_definitions(${target} PRIVATE AIOUV_SANITIZED)
  if(AIOUV_SANITIZE MATCHES "address")
    # Recycled frames would hide use-after-free from ASan.
    target_compile_definitions(${target} PRIVATE AIOUV_DISABLE_FRAME_POOL)
  endif()
endfunction()
