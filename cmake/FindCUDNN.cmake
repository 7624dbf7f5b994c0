# FindCUDNN: locates cuDNN 9 (header cudnn.h and library libcudnn) and defines CUDNN::cudnn.
#
# Searched: CUDNN_ROOT, $ENV{CUDNN_ROOT}, the CUDA toolkit, and a pip wheel's layout
# (site-packages/nvidia/cudnn/{include,lib}). Results: CUDNN_FOUND, CUDNN_VERSION,
# CUDNN_INCLUDE_DIR, CUDNN_LIBRARY.
find_package(CUDAToolkit QUIET)
set(_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_LIBRARY_ROOT}
    ${CUDAToolkit_TARGET_DIR} /usr/local/cuda)

find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include)
# NAMES_PER_DIR: a pip wheel ships libcudnn.so.9 only (no libcudnn.so), and CUDNN_ROOT must win
# over a toolkit's libcudnn.so further down the hints.
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR HINTS ${_cudnn_hints}
             PATH_SUFFIXES lib lib64 lib/x64 targets/x86_64-linux/lib)

if(CUDNN_INCLUDE_DIR)
  foreach(_header cudnn_version.h cudnn.h)
    if(EXISTS ${CUDNN_INCLUDE_DIR}/${_header})
      file(STRINGS ${CUDNN_INCLUDE_DIR}/${_header} _cudnn_defs REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
      if(_cudnn_defs)
        string(REGEX REPLACE ".*CUDNN_MAJOR ([0-9]+).*" "\\1" _major "${_cudnn_defs}")
        string(REGEX REPLACE ".*CUDNN_MINOR ([0-9]+).*" "\\1" _minor "${_cudnn_defs}")
        string(REGEX REPLACE ".*CUDNN_PATCHLEVEL ([0-9]+).*" "\\1" _patch "${_cudnn_defs}")
        set(CUDNN_VERSION "${_major}.${_minor}.${_patch}")
        break()
      endif()
    endif()
  endforeach()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR
                                  VERSION_VAR CUDNN_VERSION)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES
    IMPORTED_LOCATION ${CUDNN_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
