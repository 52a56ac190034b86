# Installs the build tree into a scratch prefix, then builds a tiny consumer
# three ways: find_package(aiouv) on the install, pkg-config on the install,
# and add_subdirectory on the source tree.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/test/package/consumer" -B "${WORK_DIR}/consumer"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/consumer/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "consumer: 42\n")
  message(FATAL_ERROR "the consumer did not run right (${rc}): ${out}")
endif()

# pkg-config: aiouv.pc must give flags that compile and link.
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig:${prefix}/lib/x86_64-linux-gnu/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  execute_process(COMMAND ${PKG_CONFIG} --define-variable=prefix=${prefix} --cflags --libs aiouv
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know aiouv")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  execute_process(
    COMMAND ${CXX} "${SOURCE_DIR}/test/package/consumer/main.cpp" ${flags}
      -Wl,-rpath,${prefix}/lib -o "${WORK_DIR}/consumer_pc"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building with pkg-config flags failed")
  endif()
  execute_process(COMMAND "${WORK_DIR}/consumer_pc" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "consumer: 42\n")
    message(FATAL_ERROR "the pkg-config consumer did not run right (${rc}): ${out}")
  endif()
endif()
# add_subdirectory: aiouv as a subproject (its tests and samples stay off).
execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/test/package/subdir_consumer" -B "${WORK_DIR}/subdir"
    -DAIOUV_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the add_subdirectory consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/subdir" -j 2 RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the add_subdirectory consumer failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/subdir/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "consumer: 42\n")
  message(FATAL_ERROR "the add_subdirectory consumer did not run right (${rc}): ${out}")
endif()
message(STATUS "package consumer OK")
