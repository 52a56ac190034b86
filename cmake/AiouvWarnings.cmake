# aiouv_enable_warnings(<target>): the project's warning set, PRIVATE so it
# never leaks into consumers.
function(aiouv_enable_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${AIOUV_WARNINGS_AS_ERRORS}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
      $<$<BOOL:${AIOUV_WARNINGS_AS_ERRORS}>:-Werror>)
  endif()
endfunction()
