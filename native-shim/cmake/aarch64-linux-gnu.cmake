# Cross-compile for 64-bit ARM Linux (Raspberry Pi 5) with Debian's cross toolchain:
#   apt-get install g++-aarch64-linux-gnu
#   cmake -S native-shim -B build -DCMAKE_TOOLCHAIN_FILE=native-shim/cmake/aarch64-linux-gnu.cmake
# If qemu-aarch64 is installed (Debian package qemu-user), ctest runs the tests under it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(HS_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${HS_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HS_CROSS_TRIPLE}-g++)

# Debian installs the target's libc/libstdc++ under /usr/aarch64-linux-gnu.
set(HS_CROSS_ROOT /usr/${HS_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${HS_CROSS_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(HS_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(HS_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HS_QEMU_AARCH64} -L ${HS_CROSS_ROOT})
endif()
