# Usage: cmake -DCOMPILER=... -DSOURCE=case.cpp -DINCLUDES="a;b" -P CheckCompileFails.cmake
# Passes when SOURCE compiles with TSGAN_EXPECT_OK defined, fails without it, and the compiler's
# output matches every `// expect: <regex>` line of SOURCE.
set(flags -std=c++20 -fsyntax-only)
foreach(dir ${INCLUDES})
  list(APPEND flags -I${dir})
endforeach()

execute_process(COMMAND ${COMPILER} ${flags} -DTSGAN_EXPECT_OK ${SOURCE}
                RESULT_VARIABLE ok_result OUTPUT_VARIABLE ok_out ERROR_VARIABLE ok_err)
if(NOT ok_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE}: the valid variant (TSGAN_EXPECT_OK) does not compile:\n${ok_err}")
endif()

execute_process(COMMAND ${COMPILER} ${flags} ${SOURCE}
                RESULT_VARIABLE bad_result OUTPUT_VARIABLE bad_out ERROR_VARIABLE bad_err)
if(bad_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE}: compiled, but it must not")
endif()

file(STRINGS ${SOURCE} expectations REGEX "^// expect: ")
if(NOT expectations)
  message(FATAL_ERROR "${SOURCE}: no `// expect:` line")
endif()
foreach(line ${expectations})
  string(REGEX REPLACE "^// expect: " "" pattern "${line}")
  if(NOT "${bad_out}${bad_err}" MATCHES "${pattern}")
    message(FATAL_ERROR "${SOURCE}: the compiler's message does not match `${pattern}`:\n${bad_err}")
  endif()
endforeach()
message(STATUS "${SOURCE}: fails to compile as expected")
