# The BLAS behind tsgan's CPU matrix products (kernels/cpu/gemm.hpp), for the build tree and, through
# tsganConfig.cmake, for projects that install tsgan. tsgan_find_openblas() defines the imported
# target tsgan::openblas, always: linked to OpenBLAS, with TSGAN_WITH_OPENBLAS=1, when one is found;
# empty (so gemm.hpp uses Eigen's product) when none is or TSGAN_USE_OPENBLAS is OFF.
#
# Preference, first found wins (docs/performance.md says why):
#  1. OpenBLAS's OpenMP build (Debian: libopenblas-openmp-dev, in /usr/lib/<multiarch>/openblas-openmp
#     with its cblas.h in /usr/include/<multiarch>/openblas-openmp): it shares OpenMP's thread pool
#     with tsgan's own loops instead of bringing a second pool that spins next to them.
#  2. Any OpenBLAS found the usual way (the system default, Debian's pthread build).
#  3. None: Eigen's product.
# Debian's builds share the soname libopenblas.so.0, and the loader would otherwise take whichever
# the system's alternatives point at; so when the library is not in a directory the loader searches
# anyway, the target adds its directory to the linked program's runtime path (-rpath), and the
# program loads the variant it was compiled against. TSGAN_OPENBLAS_LIBRARY and
# TSGAN_OPENBLAS_INCLUDE_DIR (cache variables) choose another OpenBLAS.
option(TSGAN_USE_OPENBLAS "Use OpenBLAS for tsgan's CPU matrix products when it is found" ON)

function(tsgan_find_openblas)
  if(TARGET tsgan::openblas)
    return()
  endif()
  add_library(tsgan::openblas INTERFACE IMPORTED GLOBAL)
  if(NOT TSGAN_USE_OPENBLAS)
    message(STATUS "tsgan: OpenBLAS not used (TSGAN_USE_OPENBLAS=OFF): Eigen's matrix product")
    return()
  endif()
  set(_ma ${CMAKE_LIBRARY_ARCHITECTURE})
  if(_ma)
    find_library(TSGAN_OPENBLAS_LIBRARY NAMES openblas HINTS /usr/lib/${_ma}/openblas-openmp NO_DEFAULT_PATH)
    find_path(TSGAN_OPENBLAS_INCLUDE_DIR cblas.h HINTS /usr/include/${_ma}/openblas-openmp NO_DEFAULT_PATH)
  endif()
  find_library(TSGAN_OPENBLAS_LIBRARY NAMES openblas)
  find_path(TSGAN_OPENBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
  mark_as_advanced(TSGAN_OPENBLAS_LIBRARY TSGAN_OPENBLAS_INCLUDE_DIR)
  if(NOT TSGAN_OPENBLAS_LIBRARY OR NOT TSGAN_OPENBLAS_INCLUDE_DIR)
    message(STATUS "tsgan: OpenBLAS not found: Eigen's matrix product")
    return()
  endif()
  set_target_properties(tsgan::openblas PROPERTIES
    INTERFACE_LINK_LIBRARIES ${TSGAN_OPENBLAS_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${TSGAN_OPENBLAS_INCLUDE_DIR}
    INTERFACE_COMPILE_DEFINITIONS TSGAN_WITH_OPENBLAS=1)
  get_filename_component(_real ${TSGAN_OPENBLAS_LIBRARY} REALPATH)
  get_filename_component(_dir ${TSGAN_OPENBLAS_LIBRARY} DIRECTORY)
  if(NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES AND NOT _dir IN_LIST CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES)
    set_target_properties(tsgan::openblas PROPERTIES INTERFACE_LINK_OPTIONS "LINKER:-rpath,${_dir}")
  endif()
  message(STATUS "tsgan: OpenBLAS: ${TSGAN_OPENBLAS_LIBRARY} (${_real})")
endfunction()
