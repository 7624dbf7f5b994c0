# Finds what tsgan needs and defines tsgan_link_dependencies(target), used for the build tree
# and (through tsganConfig.cmake) by projects that install tsgan.
include(GNUInstallDirs)

find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(fmt REQUIRED)
# TF.js manifests and safetensors headers (io/).
find_package(nlohmann_json 3 REQUIRED)
# Image decoding and PNG writing (io/image.hpp): hardened, fuzzed upstream.
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
find_package(OpenMP COMPONENTS CXX)
# OpenBLAS for the CPU matrix products (kernels/cpu/gemm.hpp); Eigen's product otherwise.
include(TsganBlas)
tsgan_find_openblas()

# CUDA: nvcc compiles the kernels; cuDNN and cuBLAS do the heavy ops.
set(TSGAN_HAS_CUDA OFF)
if(NOT TSGAN_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # The GPU tsgan is built for (Hopper, sm_90) unless the caller names others: one architecture
    # keeps nvcc's time down. The runtime is the shared libcudart that cuBLAS and cuDNN use too.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    if(NOT DEFINED CMAKE_CUDA_RUNTIME_LIBRARY)
      set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    find_package(CUDNN)
    if(CUDAToolkit_FOUND AND CUDNN_FOUND)
      set(TSGAN_HAS_CUDA ON)
    endif()
  endif()
  if(TSGAN_CUDA STREQUAL "ON" AND NOT TSGAN_HAS_CUDA)
    message(FATAL_ERROR "tsgan: TSGAN_CUDA=ON but nvcc, the CUDA toolkit or cuDNN was not found "
                        "(set CMAKE_CUDA_COMPILER, CUDAToolkit_ROOT or CUDNN_ROOT)")
  endif()
endif()
message(STATUS "tsgan: CUDA backend ${TSGAN_HAS_CUDA}")

function(tsgan_link_dependencies target)
  target_link_libraries(${target} INTERFACE Eigen3::Eigen fmt::fmt nlohmann_json::nlohmann_json PNG::PNG JPEG::JPEG)
  target_link_libraries(${target} INTERFACE tsgan::openblas)
  if(OpenMP_CXX_FOUND)
    target_link_libraries(${target} INTERFACE OpenMP::OpenMP_CXX)
    # nvcc forwards OpenMP to the host compiler.
    target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
  endif()
  if(TSGAN_HAS_CUDA)
    target_link_libraries(${target} INTERFACE CUDA::cudart CUDA::cublas CUDA::cublasLt CUDNN::cudnn)
    target_compile_definitions(${target} INTERFACE TSGAN_WITH_CUDA=1)
    # CMake releases older than the nvcc in use know no CUDA language levels for it.
    if("cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES)
      target_compile_features(${target} INTERFACE cuda_std_20)
    else()
      target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
    endif()
    # Flags that tsgan, Eigen and fmt need under nvcc, on CUDA sources only: constexpr host
    # functions (std::array, numeric_limits) in device code; fmt 9's consteval format strings,
    # which nvcc cannot evaluate; and front-end remarks that generic code triggers for rank-0
    # shapes and host/device templates (186: unsigned compared with zero, 128: loop not
    # reachable, 20012-20015: host/device annotations of defaulted or constexpr functions, 20208:
    # long double in host code, which header-only fmt has).
    target_compile_options(${target} INTERFACE
      $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda
        -DFMT_CONSTEVAL= -DFMT_USE_CONSTEXPR=1
        -diag-suppress=20012,20013,20014,20015,20208,186,128>)
  endif()
endfunction()
