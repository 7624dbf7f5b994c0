# Settings for tsgan's own tests, examples and benchmarks (not exported to users).
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM} CACHE STRING "")
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM} CACHE STRING "")
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

# tsgan_dev_options: the compiler flags alone (the SGEMM benchmarks link their own BLAS instead of
# tsgan's); tsgan_dev: tsgan with those flags.
add_library(tsgan_dev_options INTERFACE)
add_library(tsgan_dev INTERFACE)
target_link_libraries(tsgan_dev INTERFACE tsgan::tsgan tsgan_dev_options)
# GCC 12 warns about _mm512_undefined_ps() inside its own AVX-512 intrinsics once they are inlined
# into Eigen's packet code (GCC bug 105593); those two warnings are off for GCC 12 only.
target_compile_options(tsgan_dev_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unknown-pragmas>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-uninitialized -Wno-maybe-uninitialized>
  # nvcc's host pass hands GCC code rewritten by its front end, in which GCC no longer sees that the
  # CPU reduction loops end (-Waggressive-loop-optimizations fires on every row loop); g++ alone
  # does not warn on the same code.
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wno-aggressive-loop-optimizations>
  # GCC collects its garbage whenever its heap has grown 30-100 % past a floor of at most 128 MB;
  # the model's translation units allocate gigabytes. A 2 GB floor and 400 % growth took 7 % off
  # their CPU time for 40 % more peak memory (tsgan-embed: 154 -> 143 CPU-seconds, 3.3 -> 4.6 GB;
  # docs/performance.md, Compile time). The generated code is the same.
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:--param=ggc-min-expand=400 --param=ggc-min-heapsize=2097152>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<CXX_COMPILER_ID:GNU>>:-Xcompiler=--param=ggc-min-expand=400,--param=ggc-min-heapsize=2097152>)
# tsgan's own programs, the SGEMM benchmarks included, are compiled for this CPU when TSGAN_NATIVE
# is on (the default at the top level).
if(TSGAN_NATIVE)
  target_compile_options(tsgan_dev_options INTERFACE ${tsgan_native_flags})
endif()
